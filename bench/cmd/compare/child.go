package main

import (
	"fmt"

	"github.com/stratadb/strata/bench/internal/child"
	"github.com/stratadb/strata/bench/internal/engine"
	"github.com/stratadb/strata/bench/internal/workload"
)

// runChild runs the whole plan on one engine in c.childDir and emits each step's result.
func runChild(c *config) error {
	e, err := engine.Lookup(c.engine)
	if err != nil {
		return err
	}
	if c.childDir == "" {
		return fmt.Errorf("-child needs -child_dir")
	}
	r := workload.NewRunner(e, c.childDir, engine.DefaultSettings(), c.workloadConfig())
	for _, step := range workload.Plan(c.specs) {
		res, err := r.Run(step)
		if err != nil {
			r.Close()
			return fmt.Errorf("%s: %s: %w", e.Name, step, err)
		}
		if err := child.Emit(res); err != nil {
			return err
		}
	}
	return r.Close()
}

// childArgs are the arguments that make this binary run engine e's sequence in dir.
func (c *config) childArgs(e *engine.Engine, dir string) []string {
	return []string{
		"-child", "-engine", e.Name, "-child_dir", dir,
		"-num", fmt.Sprint(c.num), "-reads", fmt.Sprint(c.reads),
		"-value_size", fmt.Sprint(c.valueSize), "-compression_ratio", fmt.Sprint(c.compressionRatio),
		"-workloads", c.workloads,
	}
}
