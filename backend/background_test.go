package backend

import (
	"sync/atomic"
	"testing"
)

// TestBackgroundWait: Wait returns once every function started has returned, also when more
// are started while it waits.
func TestBackgroundWait(t *testing.T) {
	var bg background
	bg.Wait() // none running
	var ran atomic.Int32
	release := make(chan struct{})
	for range 3 {
		bg.Go(func() { <-release; ran.Add(1) })
	}
	waited := make(chan struct{})
	go func() { bg.Wait(); close(waited) }()
	bg.Go(func() { <-release; ran.Add(1) })
	close(release)
	<-waited
	if n := ran.Load(); n != 4 {
		t.Fatalf("Wait returned after %d of 4", n)
	}
	bg.Go(func() { ran.Add(1) })
	bg.Wait()
	if n := ran.Load(); n != 5 {
		t.Fatalf("Wait returned after %d of 5", n)
	}
}
