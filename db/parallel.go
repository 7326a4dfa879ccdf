package db

import "sync"

// inParallel calls f(i) for every i in [0, n): f(0) on the calling goroutine, the others each on
// a goroutine of its own, and returns once all have returned. It is how a job cut into parts by
// key range runs them at once: a compaction's parts, a bulk load's merge, a batched lookup.
func inParallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i)
		}()
	}
	if n > 0 {
		f(0)
	}
	wg.Wait()
}
