package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
)

// interactive reads commands from in, one per line, until EOF, "quit" or
// ctx ends. A failed command prints its error and the prompt goes on.
func (s *console) interactive(ctx context.Context, in io.Reader) error {
	lines := bufio.NewScanner(in)
	fmt.Fprint(s.out, "chain> ")
	for lines.Scan() {
		if ctx.Err() != nil {
			return nil
		}
		words, err := splitLine(lines.Text())
		switch {
		case err != nil:
			fmt.Fprintln(s.out, "error:", err)
		case len(words) == 0:
		case words[0] == "quit" || words[0] == "exit":
			return nil
		default:
			if err := s.execute(ctx, words); err != nil {
				fmt.Fprintln(s.out, "error:", err)
			}
		}
		fmt.Fprint(s.out, "chain> ")
	}
	fmt.Fprintln(s.out)
	if err := lines.Err(); err != nil {
		return fmt.Errorf("read commands: %w", err)
	}
	return nil
}
