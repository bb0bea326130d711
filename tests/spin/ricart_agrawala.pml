/* Ricart-Agrawala mutual exclusion for differential testing against wolf (tests/test_spin.py).
   The same algorithm as models/mutex/ricart_agrawala.wolf: one mailbox per process with random receive
   (??), which delivers any pending message, like wolf's unordered network. Compile with -DNOPRIORITY for
   the broken variant of models/mutex/ricart_agrawala_no_priority.wolf. N and ROUNDS as in the models. */
#ifndef N
#define N 2
#endif
#ifndef ROUNDS
#define ROUNDS 1
#endif

mtype = { request, reply };
chan box[N] = [2 * N * ROUNDS] of { mtype, byte, byte };   /* kind, timestamp, sender: never full */

byte critical = 0;

proctype P(byte i) {
  byte clock = 0, mine = 0, replies = 0, rounds = 0, t, j, k;
  bool waiting = false, inside = false;
  bool deferred[N];
end:                       /* every process may rest here: wolf's `final idle` */
  do
  :: atomic { !waiting && !inside && rounds < ROUNDS ->
       clock++; mine = clock; replies = 0; waiting = true;
       for (k : 0 .. N - 1) { if :: k != i -> box[k]!request(mine, i) :: else -> skip fi } }
  :: atomic { box[i]??request(t, j) ->
       clock = (clock > t -> clock : t) + 1;
       if
       :: inside -> deferred[j] = true
#ifndef NOPRIORITY
       :: !inside && waiting && (mine < t || (mine == t && i < j)) -> deferred[j] = true
#endif
       :: else -> box[j]!reply(0, i)
       fi }
  :: atomic { box[i]??reply(t, j) -> replies++ }
  :: atomic { waiting && replies == N - 1 -> waiting = false; inside = true; critical++ }
  :: atomic { inside -> inside = false; critical--; rounds++;
       for (k : 0 .. N - 1) { if :: deferred[k] -> deferred[k] = false; box[k]!reply(0, i) :: else -> skip fi } }
  od
}

init { atomic { byte n; for (n : 0 .. N - 1) { run P(n) } } }

ltl mutex { [] (critical <= 1) }
