package engine

import "runtime/debug"

// moduleVersion returns the version of the module at path that this binary was built with, or
// "unknown" (tests and binaries built without module information).
func moduleVersion(path string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, d := range bi.Deps {
		if d.Path != path {
			continue
		}
		if d.Replace != nil {
			if d.Replace.Version == "" {
				return "local " + d.Replace.Path
			}
			return d.Replace.Version
		}
		return d.Version
	}
	return "unknown"
}
