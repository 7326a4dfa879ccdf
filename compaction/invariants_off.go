//go:build !invariants

package compaction

// invariantsEnabled reports whether the package was built with -tags invariants.
const invariantsEnabled = false

// checkInvariants is a no-op without the invariants build tag; invariants_on.go has the check.
func (vs *VersionSet) checkInvariants(*Version) {}
