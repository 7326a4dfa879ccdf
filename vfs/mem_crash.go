package vfs

import (
	"bytes"
	"fmt"
	"maps"
	"path"
	"sort"
	"strings"
)

// CrashClone returns a new MemFS holding what the machine would have after a power loss right
// now: from "/" down, only synced directory entries, and each file with only its synced bytes
// (see the crash model on MemFS). In the clone everything is durable (current = synced), no lock
// is held and no handle is open. The receiver is not changed, and handles open on it keep
// working on it. A clone may itself be cloned. The state is taken at one instant, even while
// other goroutines sync files: no file or directory changes while the clone is made.
//
// A node reachable under two names (see the crash model) is one node in the clone, like a hard
// link. The clone shares synced bytes with the receiver without copying them; neither side ever
// modifies them in place.
func (fs *MemFS) CrashClone() *MemFS {
	return fs.CrashCloneTorn(func(int) int { return 0 })
}

// CrashCloneTorn is CrashClone, except that each file whose current bytes extend its synced
// bytes also keeps the first keep(n) of its n unsynced bytes, as when the OS had written part of
// them back before the power went out (keep returns a number in [0, n]). Like CrashClone it is
// taken at one instant, so it is a state a real power loss could leave even while other
// goroutines write.
func (fs *MemFS) CrashCloneTorn(keep func(n int) int) *MemFS {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	// Hold every file's lock (MemFS.mu first, then nodes: the documented order), so that no
	// write lands between the copies of two files.
	var nodes []*memNode
	seen := make(map[*memNode]bool)
	var walk func(n *memNode)
	walk = func(n *memNode) {
		if seen[n] {
			return
		}
		seen[n] = true
		if !n.isDir {
			nodes = append(nodes, n)
			return
		}
		for _, c := range n.entries {
			walk(c)
		}
		for _, c := range n.syncedEntries {
			walk(c)
		}
	}
	walk(fs.root)
	for _, n := range nodes {
		n.mu.Lock()
	}
	kept := make(map[*memNode][]byte, len(nodes))
	for _, n := range nodes {
		kept[n] = n.syncedData // never modified in place, so it may be shared
		if len(n.data) > len(n.syncedData) && bytes.HasPrefix(n.data, n.syncedData) {
			extra := n.data[len(n.syncedData):]
			if k := keep(len(extra)); k > 0 {
				kept[n] = append(bytes.Clone(n.syncedData), extra[:k]...)
			}
		}
	}
	for _, n := range nodes {
		n.mu.Unlock()
	}
	return &MemFS{root: crashCopyTorn(fs.root, make(map[*memNode]*memNode), kept), locks: make(map[string]struct{})}
}

// crashCopyTorn is crashCopy with each file holding the bytes kept gives it. The caller holds
// the MemFS.mu of n's filesystem.
func crashCopyTorn(n *memNode, seen map[*memNode]*memNode, kept map[*memNode][]byte) *memNode {
	if c, ok := seen[n]; ok {
		return c
	}
	if n.isDir {
		c := &memNode{isDir: true, perm: n.perm, entries: make(map[string]*memNode, len(n.syncedEntries))}
		seen[n] = c
		for name, child := range n.syncedEntries {
			c.entries[name] = crashCopyTorn(child, seen, kept)
		}
		c.syncedEntries = maps.Clone(c.entries)
		return c
	}
	t := kept[n]
	t = t[:len(t):len(t)]
	c := &memNode{perm: n.perm, data: t, syncedData: t, shared: true}
	seen[n] = c
	return c
}

// String lists the tree, one node per line in sorted depth-first order, for test failures:
//
//	/
//	/db/
//	/db/000003.log 120 synced=100
//	/db/CURRENT 16 unsynced-entry
//	/db/MANIFEST-000001 removed-unsynced
//
// Directories end in "/". A file shows its current size, and "synced=N" when its synced size
// differs. "unsynced-entry" marks an entry a crash would lose (or revert to an older node);
// "removed-unsynced" marks a synced entry that is gone now but that a crash would bring back.
func (fs *MemFS) String() string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var b strings.Builder
	b.WriteString("/\n")
	dumpDir(&b, "/", fs.root, map[*memNode]bool{fs.root: true})
	return b.String()
}

// dumpDir writes the entries of directory d, whose path is dir. onPath holds the directories on
// the way down, so a cycle (possible only in odd crash clones) is printed once, not forever.
func dumpDir(b *strings.Builder, dir string, d *memNode, onPath map[*memNode]bool) {
	names := make([]string, 0, len(d.entries)+len(d.syncedEntries))
	for name := range d.entries {
		names = append(names, name)
	}
	for name := range d.syncedEntries {
		if _, ok := d.entries[name]; !ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		p := path.Join(dir, name)
		n, current := d.entries[name]
		if !current {
			fmt.Fprintf(b, "%s removed-unsynced\n", p)
			continue
		}
		b.WriteString(p)
		if n.isDir {
			b.WriteString("/")
		} else {
			n.mu.RLock()
			size, synced := len(n.data), len(n.syncedData)
			n.mu.RUnlock()
			fmt.Fprintf(b, " %d", size)
			if synced != size {
				fmt.Fprintf(b, " synced=%d", synced)
			}
		}
		if d.syncedEntries[name] != n {
			b.WriteString(" unsynced-entry")
		}
		b.WriteString("\n")
		if n.isDir && !onPath[n] {
			onPath[n] = true
			dumpDir(b, p, n, onPath)
			delete(onPath, n)
		}
	}
}
