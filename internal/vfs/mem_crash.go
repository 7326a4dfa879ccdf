package vfs

import (
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
// working on it. A clone may itself be cloned.
//
// A node reachable under two names (see the crash model) is one node in the clone, like a hard
// link. The clone shares synced bytes with the receiver without copying them; neither side ever
// modifies them in place.
func (fs *MemFS) CrashClone() *MemFS {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	seen := make(map[*memNode]*memNode)
	return &MemFS{root: crashCopy(fs.root, seen), locks: make(map[string]struct{})}
}

// crashCopy returns the post-crash copy of n; seen maps nodes already copied to their copies, so
// that a node reached twice is copied once (and a cycle of synced entries terminates).
// The caller holds the MemFS.mu of n's filesystem.
func crashCopy(n *memNode, seen map[*memNode]*memNode) *memNode {
	if c, ok := seen[n]; ok {
		return c
	}
	c := &memNode{isDir: n.isDir, perm: n.perm}
	seen[n] = c
	if n.isDir {
		c.entries = make(map[string]*memNode, len(n.syncedEntries))
		for name, child := range n.syncedEntries {
			c.entries[name] = crashCopy(child, seen)
		}
		c.syncedEntries = maps.Clone(c.entries)
		return c
	}
	n.mu.RLock()
	c.data = n.syncedData
	c.syncedData = n.syncedData
	c.shared = true
	n.mu.RUnlock()
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
