// The Go peer of weft_bench: the same benchmarks with Go's nearest equivalents -
// goroutines instead of OS threads (go func + sync.WaitGroup for spawn/join),
// sync.Mutex for the lock, two unbuffered channels for the event ping-pong;
// buffered channels of 1024 for the bounded queues, container/heap behind a
// sync.Mutex for the priority queue, two unbuffered channels for the queue hand-off.
// Executor rows: a pool of 2 goroutines fed by a channel with a shared results
// channel (impl "go") and a goroutine per task (impl "go_pertask") for the empty
// tasks; a goroutine per call with a WaitGroup per call for the recursive fib; 2
// goroutines splitting the range for the parallel loop.
//
// Prints go<TAB>name<TAB>value<TAB>unit lines and '#' notes, with the same method
// as weft_bench: a warm-up, then 5 rounds, the median reported (the best for
// lock_acquire_release).
//
// Exit status: 0, 3 when an exactness check failed.
// usage: peer_go [-quick] [-only NAME]   (or WEFT_BENCH_QUICK=1)
package main

import (
	"container/heap"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var failures int

func fail(format string, args ...interface{}) {
	failures++
	fmt.Fprintf(os.Stderr, "FAIL go "+format+"\n", args...)
}

// thread_spawn_join: go func + WaitGroup, one goroutine at a time.
func spawnJoin(n int) (float64, bool) {
	var runs int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			atomic.AddInt64(&runs, 1)
			wg.Done()
		}()
		wg.Wait()
	}
	d := time.Since(t0)
	if atomic.LoadInt64(&runs) != int64(n) {
		fail("thread_spawn_join: %d bodies ran, expected %d", runs, n)
		return 0, false
	}
	return float64(d.Nanoseconds()) / 1e3 / float64(n), true // us per spawn+join
}

// lock_acquire_release: uncontended sync.Mutex.
func lockAcquireRelease(n int) (float64, bool) {
	var m sync.Mutex
	t0 := time.Now()
	for i := 0; i < n; i++ {
		m.Lock()
		m.Unlock()
	}
	d := time.Since(t0)
	return float64(d.Nanoseconds()) / float64(n), true // ns per lock+unlock
}

// counter_lock_per_increment_2threads: two goroutines, lock; counter++; unlock.
func counter2(n int) (float64, bool) {
	var m sync.Mutex
	counter := 0
	per := n / 2
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	for g := 0; g < 2; g++ {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			for i := 0; i < per; i++ {
				m.Lock()
				counter++
				m.Unlock()
			}
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(gate)
	done.Wait()
	d := time.Since(t0)
	if counter != 2*per {
		fail("counter_lock_per_increment_2threads: counter %d, expected %d", counter, 2*per)
		return 0, false
	}
	return float64(d.Nanoseconds()) / float64(2*per), true // ns per increment
}

// The same xorshift64 steps as bench_cpu_work() in bench/main.c.
func cpuWork(seed uint64, iters int) uint64 {
	x := seed*0x9E3779B97F4A7C15 + 1
	for i := 0; i < iters; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// cpu_bound_2threads_speedup: the work twice in a row vs in two goroutines.
func cpu2(n int) (float64, bool) {
	t0 := time.Now()
	seq := [2]uint64{cpuWork(1, n), cpuWork(2, n)}
	t1 := time.Now()
	var par [2]uint64
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			par[g] = cpuWork(uint64(g+1), n)
		}(g)
	}
	wg.Wait()
	t2 := time.Now()
	if seq != par {
		fail("cpu_bound_2threads_speedup: goroutines computed %x, sequential %x", par, seq)
		return 0, false
	}
	return float64(t1.Sub(t0)) / float64(t2.Sub(t1)), true
}

// event_pingpong_2threads: two unbuffered channels.
func pingpong(n int) (float64, bool) {
	ping := make(chan struct{})
	pong := make(chan struct{})
	bounced := 0
	done := make(chan struct{})
	go func() {
		for i := 0; i < n; i++ {
			<-ping
			bounced++
			pong <- struct{}{}
		}
		close(done)
	}()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		ping <- struct{}{}
		<-pong
	}
	d := time.Since(t0)
	<-done
	if bounced != n {
		fail("event_pingpong_2threads: %d bounces, expected %d", bounced, n)
		return 0, false
	}
	return float64(d.Nanoseconds()) / 1e3 / float64(n), true // us per round trip
}

// ---- queue rows: items are the integers 1..n, 0 the "no more" sentinel; every
// consumer tallies what it got and the totals must be those of 1..n ----

const maxsize = 1024   // bounded rows (BENCH_QUEUE_MAXSIZE in bench/bench.h)
const prioBatch = 1024 // priority row: items put before they are all got

type tally struct{ count, sum, sumsq uint64 }

func (t *tally) add(v uint64) {
	t.count++
	t.sum += v
	t.sumsq += v * v
}

func tallyOK(row string, t tally, n uint64) bool {
	var want tally
	for v := uint64(1); v <= n; v++ {
		want.add(v)
	}
	if t == want {
		return true
	}
	fail("%s: got %d items (sum %d, sum of squares %d), expected items 1..%d exactly once "+
		"(sum %d, sum of squares %d)", row, t.count, t.sum, t.sumsq, n, want.sum, want.sumsq)
	return false
}

// runGated starts one goroutine per body, releases them together, waits for all.
func runGated(bodies ...func()) time.Duration {
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	for _, b := range bodies {
		ready.Add(1)
		done.Add(1)
		go func(b func()) {
			defer done.Done()
			ready.Done()
			<-gate
			b()
		}(b)
	}
	ready.Wait()
	t0 := time.Now()
	close(gate)
	done.Wait()
	return time.Since(t0)
}

// queue_fifo_spsc_bounded1024: a buffered channel of 1024, one goroutine each side.
func queueSPSC(n int) (float64, bool) {
	ch := make(chan uint64, maxsize)
	var t tally
	inOrder := true
	d := runGated(func() {
		for v := uint64(1); v <= uint64(n); v++ {
			ch <- v
		}
	}, func() {
		for i := uint64(1); i <= uint64(n); i++ {
			v := <-ch
			inOrder = inOrder && v == i
			t.add(v)
		}
	})
	if !inOrder {
		fail("queue_fifo_spsc_bounded1024: items out of FIFO order")
		return 0, false
	}
	if !tallyOK("queue_fifo_spsc_bounded1024", t, uint64(n)) {
		return 0, false
	}
	return float64(n) / d.Seconds(), true // items per second
}

// queue_fifo_mpmc_2p2c_bounded1024: two producers, two consumers on one channel.
func queueMPMC(n int) (float64, bool) {
	ch := make(chan uint64, maxsize)
	half := uint64(n / 2)
	var t [2]tally
	producer := func(first, last uint64) func() {
		return func() {
			for v := first; v <= last; v++ {
				ch <- v
			}
			ch <- 0
		}
	}
	consumer := func(t *tally) func() {
		return func() {
			for {
				v := <-ch
				if v == 0 {
					return
				}
				t.add(v)
			}
		}
	}
	d := runGated(producer(1, half), producer(half+1, 2*half), consumer(&t[0]), consumer(&t[1]))
	all := tally{t[0].count + t[1].count, t[0].sum + t[1].sum, t[0].sumsq + t[1].sumsq}
	if !tallyOK("queue_fifo_mpmc_2p2c_bounded1024", all, 2*half) {
		return 0, false
	}
	return float64(2*half) / d.Seconds(), true // items per second
}

// priority_queue_put_get_1thread: container/heap behind a sync.Mutex, the way a
// Go program shares a priority queue between goroutines (Go has no such type).
type prioEntry struct{ prio, seq, item uint64 }
type prioHeap []prioEntry

func (h prioHeap) Len() int { return len(h) }
func (h prioHeap) Less(i, j int) bool {
	return h[i].prio < h[j].prio || (h[i].prio == h[j].prio && h[i].seq < h[j].seq)
}
func (h prioHeap) Swap(i, j int)       { h[i], h[j] = h[j], h[i] }
func (h *prioHeap) Push(x interface{}) { *h = append(*h, x.(prioEntry)) }
func (h *prioHeap) Pop() interface{} {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

type prioQueue struct {
	mu  sync.Mutex
	h   prioHeap
	seq uint64
}

func (q *prioQueue) put(prio, item uint64) {
	q.mu.Lock()
	heap.Push(&q.h, prioEntry{prio, q.seq, item})
	q.seq++
	q.mu.Unlock()
}

func (q *prioQueue) get() (uint64, uint64) { // the benchmark never gets from an empty queue
	q.mu.Lock()
	e := heap.Pop(&q.h).(prioEntry)
	q.mu.Unlock()
	return e.prio, e.item
}

func prioPutGet(n int) (float64, bool) {
	n -= n % prioBatch
	if n == 0 {
		n = prioBatch
	}
	var q prioQueue
	var t tally
	rng := uint64(42)
	inOrder := true
	t0 := time.Now()
	for b := 0; b < n; b += prioBatch {
		for k := 1; k <= prioBatch; k++ {
			rng = rng*6364136223846793005 + 1442695040888963407 // bench_prio_next()
			q.put(rng>>44, uint64(b+k))
		}
		prev := uint64(0)
		for k := 0; k < prioBatch; k++ {
			prio, v := q.get()
			inOrder = inOrder && prio >= prev
			prev = prio
			t.add(v)
		}
	}
	d := time.Since(t0)
	if !inOrder {
		fail("priority_queue_put_get_1thread: priorities out of order")
		return 0, false
	}
	if !tallyOK("priority_queue_put_get_1thread", t, uint64(n)) {
		return 0, false
	}
	return float64(n) / d.Seconds(), true // put+get pairs per second
}

// percentile: nearest rank, as bench_percentile() in bench/main.c (sorts v).
func percentile(v []float64, p float64) float64 {
	sort.Float64s(v)
	rank := int(p/100*float64(len(v)) + 0.999999)
	if rank < 1 {
		rank = 1
	}
	if rank > len(v) {
		rank = len(v)
	}
	return v[rank-1]
}

// aux: the second figure of the last run (queue_handoff_latency_p99).
var aux float64

// queue_handoff_latency: one item through two unbuffered channels and back,
// each round trip timed alone; the median, and the 99th percentile in aux.
func queueHandoff(n int) (float64, bool) {
	ping := make(chan uint64)
	pong := make(chan uint64)
	go func() {
		for i := 0; i < n; i++ {
			pong <- (<-ping) + 1
		}
	}()
	lat := make([]float64, n)
	wrong := false
	for i := 0; i < n; i++ {
		t0 := time.Now()
		ping <- uint64(2 * i)
		back := <-pong
		lat[i] = float64(time.Since(t0).Nanoseconds()) / 1e3
		wrong = wrong || back != uint64(2*i+1)
	}
	if wrong {
		fail("queue_handoff_latency: an item came back changed")
		return 0, false
	}
	aux = percentile(lat, 99)
	return percentile(lat, 50), true // us per round trip
}

// ---- executor rows ----

const taskBatch = 1024 // futures per batch (BENCH_TASK_BATCH in bench/bench.h)
const fibN = 25        // BENCH_FIB_N
const fibResult = 75025
const pfSteps = 1000 // BENCH_PF_STEPS: xorshift steps per index

type job struct {
	fn  func(uint64) uint64
	arg uint64
}

func emptyTask(a uint64) uint64 { return a }

func checkTasks(impl string, n int, done, sum uint64) bool {
	want := uint64(n) * uint64(n+1) / 2
	if done != uint64(n) || sum != want {
		fail("%s threadpool_empty_tasks_2workers: %d results summing to %d, expected %d summing to %d",
			impl, done, sum, n, want)
		return false
	}
	return true
}

// threadpool_empty_tasks_2workers, pool form: 2 worker goroutines receive jobs
// (function + argument) from one channel and send each result on a shared results
// channel (both buffered to one batch). The submitter sends a batch of jobs, then
// receives as many results, adding them up.
func emptyTasksPool(n int) (float64, bool) {
	jobs := make(chan job, taskBatch)
	results := make(chan uint64, taskBatch)
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				results <- j.fn(j.arg)
			}
		}()
	}
	var sum, done uint64
	t0 := time.Now()
	for base := 0; base < n; base += taskBatch {
		k := n - base
		if k > taskBatch {
			k = taskBatch
		}
		for i := 0; i < k; i++ {
			jobs <- job{emptyTask, uint64(base + i + 1)}
		}
		for i := 0; i < k; i++ {
			sum += <-results
			done++
		}
	}
	d := time.Since(t0)
	close(jobs)
	wg.Wait()
	if !checkTasks("go", n, done, sum) {
		return 0, false
	}
	return float64(n) / d.Seconds(), true // tasks per second
}

// threadpool_empty_tasks_2workers, goroutine-per-task form: per batch, one
// goroutine per task writes its result into a slice and calls wg.Done(); the
// submitter waits on the WaitGroup, then adds up the batch's results.
func emptyTasksPerTask(n int) (float64, bool) {
	res := make([]uint64, taskBatch)
	var wg sync.WaitGroup
	var sum, done uint64
	t0 := time.Now()
	for base := 0; base < n; base += taskBatch {
		k := n - base
		if k > taskBatch {
			k = taskBatch
		}
		wg.Add(k)
		for i := 0; i < k; i++ {
			go func(i int, a uint64) {
				res[i] = emptyTask(a)
				wg.Done()
			}(i, uint64(base+i+1))
		}
		wg.Wait()
		for i := 0; i < k; i++ {
			sum += res[i]
			done++
		}
	}
	d := time.Since(t0)
	if !checkTasks("go_pertask", n, done, sum) {
		return 0, false
	}
	return float64(n) / d.Seconds(), true // tasks per second
}

// fibG: every call with k >= 2 starts a goroutine for each child and waits for
// both on a WaitGroup of its own.
func fibG(k int) uint64 {
	if k < 2 {
		return uint64(k)
	}
	var a, b uint64
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { a = fibG(k - 1); wg.Done() }()
	go func() { b = fibG(k - 2); wg.Done() }()
	wg.Wait()
	return a + b
}

// threadpool_fib25_recursive: the root call is a goroutine too; n computations,
// ms per fib(25).
func fibRecursive(n int) (float64, bool) {
	if n < 1 {
		n = 1
	}
	bad := uint64(0)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		ch := make(chan uint64, 1)
		go func() { ch <- fibG(fibN) }()
		if r := <-ch; r != fibResult && bad == 0 {
			bad = r + 1
		}
	}
	d := time.Since(t0)
	if bad != 0 {
		fail("threadpool_fib25_recursive: fib(%d) = %d, expected %d", fibN, bad-1, fibResult)
		return 0, false
	}
	return float64(d.Nanoseconds()) / 1e6 / float64(n), true // ms per fib(25)
}

func pfRange(lo, hi int) uint64 {
	var s uint64
	for i := lo; i < hi; i++ {
		s += cpuWork(uint64(i+1), pfSteps)
	}
	return s
}

// parallel_for_speedup_2threads: the loop in this goroutine, then split in halves
// between 2 goroutines.
func parallelFor2(n int) (float64, bool) {
	t0 := time.Now()
	seq := pfRange(0, n)
	t1 := time.Now()
	var half [2]uint64
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { half[0] = pfRange(0, n/2); wg.Done() }()
	go func() { half[1] = pfRange(n/2, n); wg.Done() }()
	wg.Wait()
	t2 := time.Now()
	if half[0]+half[1] != seq {
		fail("parallel_for_speedup_2threads: parallel sum %x, sequential %x", half[0]+half[1], seq)
		return 0, false
	}
	return float64(t1.Sub(t0)) / float64(t2.Sub(t1)), true
}

type bench struct {
	name, unit string
	best       bool
	fn         func(int) (float64, bool)
	n          int
	aux        string // name of the row fed by aux after each run, or ""
	impl       string // implementation column, "" for "go"
}

var benches = []bench{
	{"thread_spawn_join", "us/op", false, spawnJoin, 200000, "", ""},
	{"lock_acquire_release", "ns/op", true, lockAcquireRelease, 20000000, "", ""},
	{"counter_lock_per_increment_2threads", "ns/incr", false, counter2, 4000000, "", ""},
	{"cpu_bound_2threads_speedup", "x", false, cpu2, 100000000, "", ""},
	{"event_pingpong_2threads", "us/rtt", false, pingpong, 200000, "", ""},
	{"queue_fifo_spsc_bounded1024", "ops/s", false, queueSPSC, 10000000, "", ""},
	{"queue_fifo_mpmc_2p2c_bounded1024", "ops/s", false, queueMPMC, 10000000, "", ""},
	{"priority_queue_put_get_1thread", "ops/s", false, prioPutGet, 2048000, "", ""},
	{"queue_handoff_latency_p50", "us/rtt", false, queueHandoff, 200000, "queue_handoff_latency_p99", ""},
	{"threadpool_empty_tasks_2workers", "tasks/s", false, emptyTasksPool, 2000000, "", ""},
	{"threadpool_empty_tasks_2workers", "tasks/s", false, emptyTasksPerTask, 2000000, "", "go_pertask"},
	{"threadpool_fib25_recursive", "ms/fib", false, fibRecursive, 10, "", ""},
	{"parallel_for_speedup_2threads", "x", false, parallelFor2, 100000, "", ""},
}

// report prints the rounds as a note and the reduced figure as a data line.
func report(impl, name, unit string, best bool, n int, vals []float64) {
	strs := make([]string, len(vals))
	for i, v := range vals {
		strs[i] = fmt.Sprintf("%.4g", v)
	}
	how := "median"
	if best {
		how = "best"
	}
	sort.Float64s(vals)
	var v float64
	if best {
		v = vals[0]
	} else if len(vals)%2 == 1 {
		v = vals[len(vals)/2]
	} else {
		v = (vals[len(vals)/2-1] + vals[len(vals)/2]) / 2
	}
	fmt.Printf("# %s %s n=%d rounds: %s (%s)\n", impl, name, n, strings.Join(strs, " "), how)
	fmt.Printf("%s\t%s\t%.4g\t%s\n", impl, name, v, unit)
}

func main() {
	quick := flag.Bool("quick", false, "a twentieth of the iterations, 2 repeats")
	only := flag.String("only", "", "run only the benchmark with this name")
	flag.Parse()
	if q := os.Getenv("WEFT_BENCH_QUICK"); q != "" && q != "0" {
		*quick = true
	}
	repeats := 5
	if *quick {
		repeats = 2
	}
	extra := ""
	if *quick {
		extra = ", QUICK (not for quoting)"
	}
	fmt.Printf("# go peer: %s, GOMAXPROCS=%d, %d repeats%s\n",
		runtime.Version(), runtime.GOMAXPROCS(0), repeats, extra)
	for _, b := range benches {
		if *only != "" && *only != b.name && *only != b.aux {
			continue
		}
		n := b.n
		if *quick {
			n /= 20
		}
		if n < 1 {
			n = 1
		}
		w := n / 10
		if w < 1 {
			w = 1
		}
		if _, ok := b.fn(w); !ok { // warm-up
			continue
		}
		vals := make([]float64, 0, repeats)
		auxVals := make([]float64, 0, repeats)
		ok := true
		for r := 0; r < repeats && ok; r++ {
			var v float64
			aux = 0
			v, ok = b.fn(n)
			vals = append(vals, v)
			auxVals = append(auxVals, aux)
		}
		if !ok {
			continue
		}
		impl := b.impl
		if impl == "" {
			impl = "go"
		}
		report(impl, b.name, b.unit, b.best, n, vals)
		if b.aux != "" {
			report(impl, b.aux, b.unit, b.best, n, auxVals)
		}
	}
	if failures > 0 {
		os.Exit(3)
	}
}
