// The Go peer of weft_bench: the same benchmarks with Go's nearest equivalents -
// goroutines instead of OS threads (go func + sync.WaitGroup for spawn/join),
// sync.Mutex for the lock, two unbuffered channels for the event ping-pong.
//
// Prints go<TAB>name<TAB>value<TAB>unit lines and '#' notes, with the same method
// as weft_bench: a warm-up, then 5 rounds, the median reported (the best for
// lock_acquire_release).
//
// Exit status: 0, 3 when an exactness check failed.
// usage: peer_go [-quick]   (or WEFT_BENCH_QUICK=1)
package main

import (
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

type bench struct {
	name, unit string
	best       bool
	fn         func(int) (float64, bool)
	n          int
}

var benches = []bench{
	{"thread_spawn_join", "us/op", false, spawnJoin, 200000},
	{"lock_acquire_release", "ns/op", true, lockAcquireRelease, 20000000},
	{"counter_lock_per_increment_2threads", "ns/incr", false, counter2, 4000000},
	{"cpu_bound_2threads_speedup", "x", false, cpu2, 100000000},
	{"event_pingpong_2threads", "us/rtt", false, pingpong, 200000},
}

func main() {
	quick := flag.Bool("quick", false, "a twentieth of the iterations, 2 repeats")
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
		n := b.n
		if *quick {
			n /= 20
		}
		w := n / 10
		if w < 1 {
			w = 1
		}
		if _, ok := b.fn(w); !ok { // warm-up
			continue
		}
		vals := make([]float64, 0, repeats)
		ok := true
		for r := 0; r < repeats && ok; r++ {
			var v float64
			v, ok = b.fn(n)
			vals = append(vals, v)
		}
		if !ok {
			continue
		}
		strs := make([]string, len(vals))
		for i, v := range vals {
			strs[i] = fmt.Sprintf("%.4g", v)
		}
		how := "median"
		if b.best {
			how = "best"
		}
		sort.Float64s(vals)
		var v float64
		if b.best {
			v = vals[0]
		} else if len(vals)%2 == 1 {
			v = vals[len(vals)/2]
		} else {
			v = (vals[len(vals)/2-1] + vals[len(vals)/2]) / 2
		}
		fmt.Printf("# go %s n=%d rounds: %s (%s)\n", b.name, n, strings.Join(strs, " "), how)
		fmt.Printf("go\t%s\t%.4g\t%s\n", b.name, v, b.unit)
	}
	if failures > 0 {
		os.Exit(3)
	}
}
