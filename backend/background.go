package backend

import "sync"

// background runs functions in goroutines of their own and waits for those running. Unlike a
// sync.WaitGroup, Go may be called while Wait waits.
type background struct {
	mu   sync.Mutex
	n    int
	done chan struct{} // closed when n drops to 0
}

// Go runs f in a goroutine of its own.
func (bg *background) Go(f func()) {
	bg.mu.Lock()
	if bg.n == 0 {
		bg.done = make(chan struct{})
	}
	bg.n++
	bg.mu.Unlock()
	go func() {
		defer bg.finish()
		f()
	}()
}

func (bg *background) finish() {
	bg.mu.Lock()
	defer bg.mu.Unlock()
	if bg.n--; bg.n == 0 {
		close(bg.done)
	}
}

// Wait returns once none is running.
func (bg *background) Wait() {
	bg.mu.Lock()
	n, done := bg.n, bg.done
	bg.mu.Unlock()
	if n > 0 {
		<-done
	}
}
