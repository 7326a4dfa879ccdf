package benchgen

import (
	"errors"
	"sync"
)

// Together runs fn(0) to fn(n-1) in n goroutines released at the same instant, as db_bench
// starts a workload's threads, and returns their errors joined once all are done.
func Together(n int, fn func(i int) error) error {
	var done, ready sync.WaitGroup
	ready.Add(1)
	errs := make([]error, n)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Wait()
			errs[i] = fn(i)
		}()
	}
	ready.Done()
	done.Wait()
	return errors.Join(errs...)
}
