//go:build invariants

package compaction

import "fmt"

// invariantsEnabled reports whether the package was built with -tags invariants.
const invariantsEnabled = true

// CheckSequenceInvariants makes every install also check the invariants about sequence numbers
// (5 and 6 of versionInvariantError). Package db sets it when built with -tags invariants
// (db/invariants_on.go): a DB's VersionSet must satisfy them. This package's own tests leave it
// off, since they feed VersionSets made-up edits whose sequence numbers mean nothing. It exists
// only in builds with -tags invariants; set it before any VersionSet is used.
var CheckSequenceInvariants bool

// checkInvariants panics when v, about to become vs's current Version, breaks an invariant of
// the level tree (see versionInvariantError). It runs on every install (LogAndApply, Recover)
// in builds with -tags invariants, which CI runs; without the tag it is a no-op
// (invariants_off.go). Requires the DB's mutex, as installing does.
func (vs *VersionSet) checkInvariants(v *Version) {
	if err := vs.versionInvariantError(v, CheckSequenceInvariants); err != nil {
		panic(fmt.Sprintf("compaction: invariant broken: %v\nnext file %d, last sequence %d\n%s",
			err, vs.nextFileNum, vs.lastSeq, v.DebugString()))
	}
}
