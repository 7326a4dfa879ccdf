package main

import (
	"os"
	"path/filepath"
	"runtime/pprof"
)

// profileEnv names the environment variable that, set to a directory, has each child write a
// CPU profile of each phase there: <engine>-load.pprof and <engine>-verify.pprof. It is how the
// figures of a run are explained; the timings of a profiled run are not the ones to publish.
const profileEnv = "USERNAMES_CPUPROFILE_DIR"

// startProfile starts a CPU profile of phase when profileEnv is set, and returns the function
// that stops it; a profile that cannot start is reported on log and the phase runs unprofiled.
func (j *job) startProfile(phase string) (stop func()) {
	dir := os.Getenv(profileEnv)
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, j.a.name+"-"+phase+".pprof"))
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		j.log.Write([]byte("profile: " + err.Error() + "\n"))
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
