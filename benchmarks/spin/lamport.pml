/* Lamport's mutual exclusion (1978) for the side-by-side benchmark against wolf (benchmarks/run.py).
   The same algorithm as models/mutex/lamport.wolf: FIFO channels per ordered pair of processes, a replicated
   request queue ordered by (timestamp, process), an entry rule "my request heads my queue and I have heard a
   later message from everyone", requests acknowledged, releases broadcast. Each receive or guarded step is one
   atomic step, as in wolf. Every process has at most one pending request, so a queue is one timestamp per
   process (0: none). N and ROUNDS as in the model. Check with spin -a, gcc -O2 -DSAFETY, ./pan -m1000. */
#ifndef N
#define N 3
#endif
#ifndef ROUNDS
#define ROUNDS 1
#endif

mtype = { request, ack, release };
chan ch[N * N] = [3 * ROUNDS + 1] of { mtype, byte };   /* ch[src * N + dst]: kind, timestamp */

byte critical = 0;

/* (ta, a) < (tb, b): lexicographic order of requests */
#define before(ta, a, tb, b) ((ta) < (tb) || ((ta) == (tb) && (a) < (b)))

/* request k is not before mine and k has sent something later than my request (for N <= 4) */
#define CLEAR(k) ((k) == i || (k) >= N || ((queue[k] == 0 || before(mine, i, queue[k], k)) && before(mine, i, last[k], k)))

inline handle(j) {
  if
  :: ch[j * N + i]?request(t) -> clock = (clock > t -> clock : t) + 1; queue[j] = t; last[j] = t;
       ch[i * N + j]!ack(clock)
  :: ch[j * N + i]?ack(t) -> clock = (clock > t -> clock : t) + 1; last[j] = t
  :: ch[j * N + i]?release(t) -> clock = (clock > t -> clock : t) + 1; queue[j] = 0; last[j] = t
  fi
}

/* a receive from process J: the head of channel J -> i */
#define RECEIVE(J) :: atomic { (J) != i && (J) < N && nempty(ch[(J) * N + i]) -> handle(J) }

proctype P(byte i) {
  byte clock = 0, mine = 0, rounds = 0, t, k;
  byte queue[N];   /* timestamp of each process's pending request, 0 when none */
  byte last[N];    /* timestamp of the latest message from each process */
  bool waiting = false, inside = false;
end:
  do
  :: atomic { !waiting && !inside && rounds < ROUNDS ->
       clock++; mine = clock; queue[i] = mine; waiting = true;
       for (k : 0 .. N - 1) { if :: k != i -> ch[i * N + k]!request(mine) :: else -> skip fi } }
  :: atomic { waiting && CLEAR(0) && CLEAR(1) && CLEAR(2) && CLEAR(3) ->
       waiting = false; inside = true; critical++ }
  :: atomic { inside ->
       clock++; queue[i] = 0; rounds++; inside = false; critical--;
       for (k : 0 .. N - 1) { if :: k != i -> ch[i * N + k]!release(clock) :: else -> skip fi } }
  RECEIVE(0)
  RECEIVE(1)
  RECEIVE(2)
  RECEIVE(3)
  od
}

init { atomic { byte n; for (n : 0 .. N - 1) { run P(n) } } }

ltl mutex { [] (critical <= 1) }
