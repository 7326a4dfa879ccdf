package main

import (
	"fmt"

	"github.com/stratadb/strata/bench/internal/child"
	"github.com/stratadb/strata/bench/internal/engine"
	"github.com/stratadb/strata/bench/internal/workload"
)

// RunChild runs the whole plan on the engine of -engine in -child_dir and emits each step's
// result.
func (c *config) RunChild() error {
	e, err := c.ChildEngine()
	if err != nil {
		return err
	}
	r := workload.NewRunner(e, c.ChildDir, engine.DefaultSettings(), c.workloadConfig())
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

// childArgs are the arguments, after the child flags, that make a child run the sequence.
func (c *config) childArgs() []string {
	return []string{
		"-num", fmt.Sprint(c.num), "-reads", fmt.Sprint(c.reads),
		"-value_size", fmt.Sprint(c.valueSize), "-compression_ratio", fmt.Sprint(c.compressionRatio),
		"-workloads", c.workloads,
	}
}
