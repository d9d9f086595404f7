package platform_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/deiops/deiops/pkg/platform"
)

type key struct{}

func TestBackgroundStopEndsLoopsThatOutliveTheirStarter(t *testing.T) {
	var b platform.Background
	parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	var ended, sawValue atomic.Int32
	for range 3 {
		b.Go(parent, func(ctx context.Context) {
			if ctx.Value(key{}) == "v" {
				sawValue.Add(1)
			}
			<-ctx.Done()
			ended.Add(1)
		})
	}
	cancelParent() // the starter's context ending must not stop the loops
	if ended.Load() != 0 {
		t.Fatal("a loop ended with its starter's context")
	}
	if err := b.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ended.Load() != 3 || sawValue.Load() != 3 {
		t.Fatalf("ended %d, saw value %d", ended.Load(), sawValue.Load())
	}
	// Stopped backgrounds can be used again.
	done := make(chan struct{})
	b.Go(context.Background(), func(ctx context.Context) { <-ctx.Done(); close(done) })
	if err := b.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-done
}
