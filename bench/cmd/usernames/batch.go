package main

// The load and the lookups of the engines that have no better API than leveldb's: batches of
// sorted runs, and one lookup per name of a sorted chunk.

// progressStep is how many lookups a checker makes between two calls of done.
const progressStep = 1 << 14

// batchDB is an engine's DB as a batchLoader uses it: one batch, filled and written.
type batchDB interface {
	put(name []byte) // adds a put of name, with an empty value, to the batch
	batchLen() int   // names in the batch
	batchSize() int  // encoded bytes of the batch
	// write writes the batch, synced or not, and empties it.
	write(sync bool) error
	close() error
}

// batchLoader sorts each chunk and writes it in batches of about target encoded bytes. A batch
// that has reached target is written when the next name comes, so a non-empty batch is always
// pending between chunks, and finish writes it synced: with leveldb's log, one synced write makes every
// earlier one durable (the earlier logs' contents are in tables the engine synced when it
// flushed them, or flushes before its Close returns).
type batchLoader struct {
	d      batchDB
	target int
}

func (l *batchLoader) add(c *chunk, done func(int)) error {
	c.Sort()
	for i := range c.Len() {
		if l.d.batchSize() >= l.target {
			n := l.d.batchLen()
			if err := l.d.write(false); err != nil {
				return err
			}
			done(n)
		}
		l.d.put(c.Name(i))
	}
	return nil
}

func (l *batchLoader) finish() error {
	err := l.d.write(true)
	if cerr := l.d.close(); err == nil {
		err = cerr
	}
	return err
}

// lookupChecker sorts each chunk, so that consecutive lookups share blocks, and looks each name
// up on its own.
type lookupChecker struct {
	has     func(name []byte) (bool, error)
	closeDB func() error
}

func (l *lookupChecker) check(c *chunk, missing func([]byte), done func(int)) error {
	c.Sort()
	for i := range c.Len() {
		ok, err := l.has(c.Name(i))
		if err != nil {
			return err
		}
		if !ok {
			missing(c.Name(i))
		}
		if i%progressStep == progressStep-1 {
			done(progressStep)
		}
	}
	done(c.Len() % progressStep)
	return nil
}

func (l *lookupChecker) close() error { return l.closeDB() }
