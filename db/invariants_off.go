//go:build !invariants

package db

import "github.com/stratadb/strata/compaction"

// checkEditLocked is a no-op without the invariants build tag; invariants_on.go has the check.
func (d *DB) checkEditLocked(*compaction.VersionEdit) {}
