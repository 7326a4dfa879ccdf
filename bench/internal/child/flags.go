package child

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/stratadb/strata/bench/internal/engine"
	"github.com/stratadb/strata/bench/internal/report"
)

// Flags are the flags every bench command has: which engines to measure, where, where to
// report, and the internal flags that put the process in child mode. A command embeds Flags
// in its configuration and registers its own flags beside them.
type Flags struct {
	Engines string // -engines: comma-separated engine names, or "all"
	Dir     string // -dir: each run gets a fresh directory under it
	Out     string // -out: the Markdown file whose section the command rewrites
	Section string // -section: full, smoke or another of the command's sections; the command resolves the default
	JSON    string // -json: the file for the results in JSON

	Child    bool   // -child: this process measures one engine
	Engine   string // -engine: the engine of a child run
	ChildDir string // -child_dir: the DB directory of a child run

	SetFlags  []string         // the flags set on the command line, for the command a report prints
	EngineSet []*engine.Engine // the engines -engines names
}

// Register defines f's flags on fs. dirHelp, jsonHelp and childHelp are the help texts of
// -dir, -json and -child, which say what the command does with them.
func (f *Flags) Register(fs *flag.FlagSet, dirHelp, jsonHelp, childHelp string) {
	fs.StringVar(&f.Engines, "engines", "all", "comma-separated engines: "+strings.Join(engine.Names(), ","))
	fs.StringVar(&f.Dir, "dir", os.TempDir(), dirHelp)
	fs.StringVar(&f.Out, "out", "", "Markdown file whose section to rewrite with the results (e.g. ../docs/benchmarks.md)")
	fs.StringVar(&f.Section, "section", "", "section of --out to rewrite: full or smoke, or alternatives for compare (default: full at --num 1000000 and above, smoke below; alternatives becomes alternatives-smoke below)")
	fs.StringVar(&f.JSON, "json", "", jsonHelp)
	fs.BoolVar(&f.Child, "child", false, "internal: "+childHelp)
	fs.StringVar(&f.Engine, "engine", "", "internal: the engine of a -child run")
	fs.StringVar(&f.ChildDir, "child_dir", "", "internal: the DB directory of a -child run")
}

// Parse parses args with fs, on which Register defined f's flags; it refuses arguments that
// are not flags and fills SetFlags and EngineSet.
func (f *Flags) Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	f.SetFlags = report.SetFlags(fs)
	var err error
	f.EngineSet, err = engine.ParseList(f.Engines)
	return err
}

// ChildEngine returns the engine a child run measures, after checking that the run was given
// its directory.
func (f *Flags) ChildEngine() (*engine.Engine, error) {
	e, err := engine.Lookup(f.Engine)
	if err != nil {
		return nil, err
	}
	if f.ChildDir == "" {
		return nil, fmt.Errorf("-child needs -child_dir")
	}
	return e, nil
}

// Heading opens a report section: which run it was (the full one, or a smoke run at num keys),
// its date, and the command that wrote it, ./cmd/name run from bench/ with the flags set on
// this command line.
func (f *Flags) Heading(name string, num int, date string) string {
	label := "Full run"
	if report.IsSmoke(f.Section) {
		label = fmt.Sprintf("Smoke run at --num %d", num)
	}
	cmd := "cd bench && go run"
	var tags []string // the build tags of the engines measured
	for _, e := range f.EngineSet {
		switch e.Name {
		case "cleveldb":
			tags = append(tags, "cleveldb")
		case "rocksdb":
			tags = append(tags, "crocksdb")
		}
	}
	if len(tags) > 0 {
		cmd += " -tags " + strings.Join(tags, ",")
	}
	cmd += " ./cmd/" + name
	if len(f.SetFlags) > 0 {
		cmd += " " + strings.Join(f.SetFlags, " ")
	}
	return fmt.Sprintf("%s, %s, written by:\n\n```\n%s\n```\n\n", label, date, cmd)
}

// IsChild reports whether the process is a child run.
func (f *Flags) IsChild() bool { return f.Child }

// RunEngine runs this binary as engine e's child in a fresh directory under f.Dir, named after
// prefix and the engine, with the child flags followed by args, and calls onLine as Run does;
// it returns the child's usage as Run does. Afterwards it removes the directory and calls
// Settle.
func (f *Flags) RunEngine(prefix string, e *engine.Engine, args []string, onLine func(line []byte) error) (Usage, error) {
	tmp, err := os.MkdirTemp(f.Dir, prefix+"-"+e.Name+"-")
	if err != nil {
		return Usage{}, err
	}
	defer func() {
		os.RemoveAll(tmp)
		Settle()
	}()
	childArgs := []string{"-child", "-engine", e.Name, "-child_dir", filepath.Join(tmp, "db")}
	return Run(append(childArgs, args...), onLine)
}

// Command is a bench command with a child mode, as Main runs it.
type Command interface {
	IsChild() bool    // whether this process is a child run (Flags provides it)
	RunParent() error // measures every engine, each in a child process
	RunChild() error  // measures one engine in this process
}

// Main is the main function of the bench command name: parse reads the command line, then
// the command runs as the parent or as a child. -help exits with status 0, a bad command line
// with 2 and a failure with 1, each error printed on stderr after name.
func Main(name string, parse func(args []string) (Command, error)) {
	c, err := parse(os.Args[1:])
	if err == flag.ErrHelp {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(2)
	}
	if c.IsChild() {
		err = c.RunChild()
	} else {
		err = c.RunParent()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}
