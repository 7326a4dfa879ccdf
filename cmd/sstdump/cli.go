package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// command is one subcommand: its usage, its flags, and what it does with its arguments.
type command struct {
	synopsis string // "sstdump scan [flags] TABLE"
	summary  string // one line for the command list
	doc      string // paragraphs for `sstdump help NAME`
	arg      string // what the positional argument is: "TABLE"; one is needed
	many     bool   // more than one positional argument is allowed
	// flags defines the command's own flags on fs (--format is every command's: run defines
	// it and sets env.json) and returns the function that runs the command with the
	// positional arguments once the flags are parsed and checked.
	flags func(fs *flag.FlagSet) func(e *env, args []string) error
}

// commands is filled in by init: the commands refer to it in their usage messages.
var commands map[string]*command

func init() {
	commands = map[string]*command{
		"scan":     scanCommand,
		"props":    propsCommand,
		"check":    checkCommand,
		"log":      logCommand,
		"manifest": manifestCommand,
		"db":       dbCommand,
		"compat":   compatCommand,
	}
}

// commandOrder is the order of the command list in the usage.
var commandOrder = []string{"scan", "props", "check", "log", "manifest", "db", "compat"}

// run parses args as the command's flags and positional arguments, which may be mixed
// (`sstdump db DIR --check`); "--" ends the flags. It checks the number of positional
// arguments and --format before the command runs.
func (c *command) run(e *env, name string, args []string) error {
	fs := flag.NewFlagSet("sstdump "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var format string
	defineFormat(fs, &format)
	do := c.flags(fs)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printCommandUsage(e.out.w, name, c)
		return err
	}
	if err != nil {
		return usagef(name, "%s: %v", name, err)
	}
	max := 1
	if c.many {
		max = -1
	}
	if err := needArgs(name, pos, 1, max, c.arg); err != nil {
		return err
	}
	if err := checkFormat(name, format); err != nil {
		return err
	}
	e.json = format == "json"
	return do(e, pos)
}

// parseInterspersed parses flags anywhere among args and returns the other arguments in order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func printMainUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString(`sstdump prints and checks leveldb files (Strata's or C++ leveldb's) without changing them.

usage:
  sstdump COMMAND [flags] ARGS...
  sstdump FILE|DIR        the command the file's name or contents suggest:
                          a table is scanned, a log or MANIFEST dumped, a DB directory
                          summarised (sstdump db)
  sstdump help [COMMAND]  this text, or a command's usage; -h works everywhere too
  sstdump --version       the version of sstdump (also: sstdump version)

commands:
`)
	for _, name := range commandOrder {
		fmt.Fprintf(&b, "  %-9s %s\n", name, commands[name].summary)
	}
	b.WriteString(`
exit status: 0 all is well (a torn log tail included), 1 problems found in the data,
2 wrong input: a usage error, or a file that cannot be read or is not what the command reads.
--format=json prints JSON Lines on every command (see docs/sstdump.md).
`)
	io.WriteString(w, b.String())
}

func printCommandUsage(w io.Writer, name string, c *command) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n", c.synopsis, strings.TrimSpace(c.doc))
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	defineFormat(fs, new(string))
	c.flags(fs)
	var flags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	if len(flags) == 0 {
		return
	}
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	fmt.Fprintf(w, "\nflags:\n")
	for _, f := range flags {
		arg, usage := flag.UnquoteUsage(f)
		head := "--" + f.Name
		if arg != "" {
			head += "=" + arg
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  %-18s %s%s\n", head, usage, def)
	}
}

// needArgs checks the number of positional arguments.
func needArgs(name string, args []string, min, max int, what string) error {
	switch {
	case len(args) < min:
		return usagef(name, "%s: missing %s", name, what)
	case max >= 0 && len(args) > max:
		return usagef(name, "%s: too many arguments: %s", name, strings.Join(args[max:], " "))
	}
	return nil
}
