package main

import (
	"flag"
	"strconv"
)

// defaultMaxValue is how many bytes of each value scan and log print in text when neither
// --max-value nor --full-values is given: a 10 MB value does not become a 10 MB line.
const defaultMaxValue = 256

// valueLimit is the --max-value and --full-values flags of the commands that print values.
type valueLimit struct {
	max  int  // --max-value N
	set  bool // --max-value was given
	full bool // --full-values
}

func (v *valueLimit) define(fs *flag.FlagSet) {
	fs.Func("max-value", "print at most `N` bytes of each value, then how many were left out "+
		"(default "+strconv.Itoa(defaultMaxValue)+" in text, all in JSON; 0: all)", func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		v.max, v.set = n, true
		return nil
	})
	fs.BoolVar(&v.full, "full-values", false, "print every value whole (as --max-value=0 does)")
}

// resolve returns how many bytes of each value cmd prints, in JSON or in text (0: all of them).
func (v *valueLimit) resolve(cmd string, json bool) (int, error) {
	switch {
	case v.set && v.max < 0:
		return 0, usagef(cmd, "%s: --max-value must not be negative", cmd)
	case v.set && v.full && v.max != 0:
		return 0, usagef(cmd, "%s: --max-value and --full-values contradict each other", cmd)
	case v.full:
		return 0, nil
	case v.set:
		return v.max, nil
	case json:
		return 0, nil // for programs: whole values, unless asked otherwise
	}
	return defaultMaxValue, nil
}

// defineFormat defines the --format flag, text or json, of every command.
func defineFormat(fs *flag.FlagSet, format *string) {
	fs.StringVar(format, "format", "text", "output `FORMAT`: text or json (JSON Lines; see docs/sstdump.md)")
}

// checkFormat checks the value of --format.
func checkFormat(cmd, format string) error {
	if format != "text" && format != "json" {
		return usagef(cmd, "%s: --format must be text or json, not %q", cmd, format)
	}
	return nil
}
