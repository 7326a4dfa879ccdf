package db

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/batch"
	"github.com/stratadb/strata/internal/keys"
)

// fakeCommitEnv is a commitEnv without a DB: it records the groups the leaders write, and each
// write waits at a gate, so a test can queue writers behind a leader before it lets it go on.
type fakeCommitEnv struct {
	mu      *sync.Mutex
	gate    chan struct{} // a write waits for a value (nil: writes go through)
	room    int
	fail    error
	closing bool
	drained int
	groups  []fakeGroup
	forced  int
	took    time.Duration // what writeGroupLocked reports its sync took
	// stalled makes makeRoomLocked wait, as a DB in a write stall does, until it is cleared (and
	// stallCond broadcast) or the leader's context is done.
	stalled   bool
	stallCond sync.Cond
	// check decides transactions' checks (nil: they pass).
	check func(c *txnCheck, earlier []batch.Repr) error
}

type fakeGroup struct {
	keys    []string // the keys of the group's puts, in order
	sync    bool
	members int
}

func (e *fakeCommitEnv) makeRoomLocked(ctx context.Context, need int, sync, force bool) error {
	for e.stalled {
		if ctx != nil && ctx.Err() != nil {
			return ctxError(ctx, "write")
		}
		e.stallCond.Wait()
	}
	if force {
		e.forced++
	}
	return nil
}

func (e *fakeCommitEnv) interruptLocked() { e.stallCond.Broadcast() }

func (e *fakeCommitEnv) checkLocked(c *txnCheck, earlier []batch.Repr) error {
	if e.check == nil {
		return nil
	}
	return e.check(c, earlier)
}

func (e *fakeCommitEnv) roomLocked() int { return e.room }

func (e *fakeCommitEnv) writeGroupLocked(group batch.Repr, sync bool, members int) (time.Duration, error) {
	g := fakeGroup{sync: sync, members: members}
	err := batch.Apply(group, "group", 0, func(_ keys.SeqNum, _ keys.Kind, key, _ []byte) error {
		g.keys = append(g.keys, string(key))
		return nil
	})
	if err != nil {
		return 0, err
	}
	e.groups = append(e.groups, g)
	if e.gate != nil {
		e.mu.Unlock()
		<-e.gate
		e.mu.Lock()
	}
	return e.took, e.fail
}

func (e *fakeCommitEnv) closingLocked() bool { return e.closing }
func (e *fakeCommitEnv) drainedLocked()      { e.drained++ }

func newFakeQueue() (*commitQueue, *fakeCommitEnv) {
	mu := new(sync.Mutex)
	env := &fakeCommitEnv{mu: mu, room: 1 << 30}
	env.stallCond.L = mu
	return &commitQueue{mu: mu, env: env}, env
}

func putRepr(key string, size int) batch.Repr {
	var b Batch
	b.Put([]byte(key), make([]byte, size))
	return b.repr
}

// queueBehind starts a commit in a goroutine and returns once it is queued (the queue holds
// want writers); the commit's result arrives on the returned channel.
func queueBehind(t *testing.T, q *commitQueue, repr batch.Repr, sync bool, want int) <-chan error {
	t.Helper()
	return queueBehindCtx(t, nil, q, repr, sync, want)
}

// queueBehindCtx is queueBehind for a write with a context.
func queueBehindCtx(t *testing.T, ctx context.Context, q *commitQueue, repr batch.Repr, sync bool, want int) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- q.commit(ctx, repr, sync, false) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		q.mu.Lock()
		n := q.lenLocked()
		q.mu.Unlock()
		if n >= want {
			return done
		}
		require.True(t, time.Now().Before(deadline), "the writer never queued")
		time.Sleep(100 * time.Microsecond)
	}
}

// TestCommitQueueGroups checks the grouping rules of the commit pipeline through its seam: a
// leader takes the writers queued behind it, in order, but no synced writer into an unsynced
// group; empty sync-only batches ride along; a group stays within the arena's room and within
// maxGroupBytes; groups are written in queue order; an error fails every member.
func TestCommitQueueGroups(t *testing.T) {
	t.Run("order and sync", func(t *testing.T) {
		q, env := newFakeQueue()
		env.gate = make(chan struct{})
		first := queueBehind(t, q, putRepr("a", 10), false, 1) // leads, held at the gate
		b := queueBehind(t, q, putRepr("b", 10), false, 2)
		c := queueBehind(t, q, putRepr("c", 10), true, 3)
		dd := queueBehind(t, q, putRepr("d", 10), false, 4)
		e := queueBehind(t, q, batch.New(nil), false, 5) // an empty batch (as a sync-only write is)
		close(env.gate)
		for _, ch := range []<-chan error{first, b, c, dd, e} {
			require.NoError(t, <-ch)
		}
		require.Equal(t, []fakeGroup{
			{keys: []string{"a"}, members: 1},
			{keys: []string{"b"}, members: 1},                  // c is synced: it waits for a group of its own
			{keys: []string{"c", "d"}, sync: true, members: 3}, // an unsynced write joins a synced leader, and the empty one rides along
		}, env.groups)
	})
	t.Run("room", func(t *testing.T) {
		q, env := newFakeQueue()
		env.gate = make(chan struct{})
		first := queueBehind(t, q, putRepr("a", 10), false, 1)
		env.room = 2*arenaBound(putRepr("x", 100)) + 10 // room for a leader and one more
		var chs []<-chan error
		for i, k := range []string{"b", "c", "d"} {
			chs = append(chs, queueBehind(t, q, putRepr(k, 100), false, i+2))
		}
		close(env.gate)
		require.NoError(t, <-first)
		for _, ch := range chs {
			require.NoError(t, <-ch)
		}
		require.Equal(t, [][]string{{"a"}, {"b", "c"}, {"d"}}, groupKeys(env.groups))
	})
	t.Run("size cap", func(t *testing.T) {
		q, env := newFakeQueue()
		env.gate = make(chan struct{})
		first := queueBehind(t, q, putRepr("a", 10), false, 1)
		small := queueBehind(t, q, putRepr("b", 100), false, 2)
		big := queueBehind(t, q, putRepr("c", smallBatchBytes), false, 3) // would delay b past the small cap
		close(env.gate)
		for _, ch := range []<-chan error{first, small, big} {
			require.NoError(t, <-ch)
		}
		require.Equal(t, [][]string{{"a"}, {"b"}, {"c"}}, groupKeys(env.groups))
	})
	t.Run("error", func(t *testing.T) {
		q, env := newFakeQueue()
		env.gate = make(chan struct{})
		first := queueBehind(t, q, putRepr("a", 10), false, 1)
		b := queueBehind(t, q, putRepr("b", 10), false, 2)
		c := queueBehind(t, q, putRepr("c", 10), false, 3)
		q.mu.Lock()
		env.fail = errors.New("disk on fire")
		q.mu.Unlock()
		close(env.gate)
		for _, ch := range []<-chan error{first, b, c} {
			require.ErrorContains(t, <-ch, "disk on fire")
		}
		require.Equal(t, [][]string{{"a"}, {"b", "c"}}, groupKeys(env.groups), "one error per group, for all its members")
	})
}

func groupKeys(gs []fakeGroup) [][]string {
	var out [][]string
	for _, g := range gs {
		out = append(out, g.keys)
	}
	return out
}

// TestCommitQueueForceAndClose: a forced commit switches memtables and writes nothing; a closing
// queue refuses new writes and reports when the last one leaves.
func TestCommitQueueForceAndClose(t *testing.T) {
	q, env := newFakeQueue()
	require.NoError(t, q.commit(nil, batch.New(nil), false, true))
	require.Equal(t, 1, env.forced)
	require.Empty(t, env.groups)

	env.gate = make(chan struct{})
	first := queueBehind(t, q, putRepr("a", 10), false, 1)
	q.mu.Lock()
	env.closing = true
	q.mu.Unlock()
	require.ErrorIs(t, q.commit(nil, putRepr("late", 10), false, false), ErrClosed)
	close(env.gate)
	require.NoError(t, <-first)
	q.mu.Lock()
	defer q.mu.Unlock()
	require.Equal(t, 1, env.drained, "the queue says when it has drained")
}

// TestCommitQueueLinger: after a synced group of k writers, the next synced leader waits until
// k writers are queued (here up to a minute: the syncs take one, as the fake reports).
func TestCommitQueueLinger(t *testing.T) {
	q, env := newFakeQueue()
	env.took = 4 * time.Minute
	q.lingerCap = time.Minute
	env.gate = make(chan struct{})
	first := queueBehind(t, q, putRepr("a", 10), true, 1)
	var chs []<-chan error
	for i := range 3 {
		chs = append(chs, queueBehind(t, q, putRepr(fmt.Sprintf("b%d", i), 10), true, i+2))
	}
	env.gate <- struct{}{} // a's group
	require.NoError(t, <-first)
	env.gate <- struct{}{} // b0..b2's group: three members, so the next synced leader waits for three
	for _, ch := range chs {
		require.NoError(t, <-ch)
	}
	close(env.gate)
	// The next leader lingers; the writers that arrive meanwhile join its group.
	var next []<-chan error
	for i := range 3 {
		key := fmt.Sprintf("c%d", i)
		ch := make(chan error, 1)
		go func() { ch <- q.commit(nil, putRepr(key, 10), true, false) }()
		next = append(next, ch)
	}
	for _, ch := range next {
		require.NoError(t, <-ch)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	require.Len(t, env.groups, 3, "the three later writers share one group")
	require.Equal(t, 3, env.groups[2].members)
}

// TestCommitQueueCancel checks WriteContext's promise through the queue's seam: a write whose
// context is done while it waits (behind a leader, or leading in a stall) leaves the queue
// unwritten and returns an error wrapping the context's; a write already taken into a group is
// written whatever its context says; the writers behind a cancelled one go on.
func TestCommitQueueCancel(t *testing.T) {
	t.Run("queued", func(t *testing.T) {
		q, env := newFakeQueue()
		env.gate = make(chan struct{})
		first := queueBehind(t, q, putRepr("a", 10), false, 1) // leads, held at the gate
		ctx, cancel := context.WithCancel(context.Background())
		b := queueBehindCtx(t, ctx, q, putRepr("b", 10), false, 2)
		c := queueBehind(t, q, putRepr("c", 10), false, 3)
		cancel()
		err := <-b
		require.ErrorIs(t, err, context.Canceled)
		close(env.gate)
		require.NoError(t, <-first)
		require.NoError(t, <-c)
		require.Equal(t, []fakeGroup{{keys: []string{"a"}, members: 1}, {keys: []string{"c"}, members: 1}}, env.groups)
	})
	t.Run("grouped", func(t *testing.T) {
		q, env := newFakeQueue()
		env.gate = make(chan struct{})
		first := queueBehind(t, q, putRepr("a", 10), false, 1)
		b := queueBehind(t, q, putRepr("b", 10), false, 2)
		ctx, cancel := context.WithCancel(context.Background())
		c := queueBehindCtx(t, ctx, q, putRepr("c", 10), false, 3)
		env.gate <- struct{}{} // a's group is written; b leads and takes c into its group
		require.NoError(t, <-first)
		require.Eventually(t, func() bool {
			q.mu.Lock()
			defer q.mu.Unlock()
			return len(env.groups) == 2
		}, 10*time.Second, 100*time.Microsecond)
		cancel() // too late: c is in b's group, held at the gate
		close(env.gate)
		require.NoError(t, <-b)
		require.NoError(t, <-c)
		require.Equal(t, []string{"b", "c"}, env.groups[1].keys)
	})
	t.Run("stalled leader", func(t *testing.T) {
		q, env := newFakeQueue()
		env.stalled = true
		ctx, cancel := context.WithCancel(context.Background())
		a := queueBehindCtx(t, ctx, q, putRepr("a", 10), false, 1)
		b := queueBehind(t, q, putRepr("b", 10), false, 2)
		cancel()
		err := <-a
		require.ErrorIs(t, err, context.Canceled)
		q.mu.Lock()
		require.Equal(t, 1, q.lenLocked(), "b leads now, still in the stall")
		env.stalled = false
		env.stallCond.Broadcast()
		q.mu.Unlock()
		require.NoError(t, <-b)
		require.Equal(t, []fakeGroup{{keys: []string{"b"}, members: 1}}, env.groups)
	})
	t.Run("done before", func(t *testing.T) {
		q, env := newFakeQueue()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.ErrorIs(t, q.commit(ctx, putRepr("a", 10), false, false), context.Canceled)
		require.Empty(t, env.groups)
	})
}
