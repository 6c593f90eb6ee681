package main

import (
	"fmt"
	"os"

	"github.com/ipeval/ipeval/indicators/scheme"
)

// schemeCmd validates a scheme file or prints the default scheme; neither
// needs the database.
func schemeCmd(e env, args []string) error {
	switch {
	case len(args) == 2 && args[0] == "validate":
		data, err := os.ReadFile(args[1])
		if err != nil {
			return err
		}
		sc, err := scheme.Parse(data)
		if err != nil {
			return explain(err)
		}
		fmt.Fprintf(e.stdout, "ok: %s v%d — %d dimensions, %d indicators, %d grades, %d rules\n",
			sc.Code, sc.Version, len(sc.Dimensions), len(sc.Indicators), len(sc.Grades), len(sc.Rules))
		return nil
	case len(args) == 1 && args[0] == "default":
		out, err := scheme.Default().YAML()
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(out)
		return err
	}
	return fmt.Errorf("scheme validate FILE | scheme default: %w", errUsage)
}
