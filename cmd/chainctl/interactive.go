package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/chzyer/readline"
)

// errLineTooLong is returned for a line over maxLine bytes.
var errLineTooLong = fmt.Errorf("line over %d bytes (give a large payload as @PATH)", maxLine)

// lineReader reads the commands of the prompt or of a script, one line at
// a time, without its end of line. next returns io.EOF at the end,
// errLineTooLong for a line over maxLine bytes (the rest of that line is
// skipped) and readline.ErrInterrupt when the user clears the line with
// Ctrl-C.
type lineReader interface {
	next() (string, error)
	Close() error
}

// plainLines reads lines from a reader that is not a terminal.
type plainLines struct{ r *bufio.Reader }

func (p plainLines) next() (string, error) {
	var line []byte
	tooLong := false
	for {
		frag, err := p.r.ReadSlice('\n')
		switch {
		case tooLong:
		case len(line)+len(frag) > maxLine+len("\r\n"):
			tooLong, line = true, nil
		default:
			line = append(line, frag...)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) == 0 && !tooLong:
			return "", io.EOF
		case err != nil && !errors.Is(err, io.EOF):
			return "", err
		case tooLong:
			return "", errLineTooLong
		}
		return strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r"), nil
	}
}

func (plainLines) Close() error { return nil }

// editedLines reads lines from a terminal with line editing (arrows,
// Home/End, Ctrl-A/E/K/U/W, Ctrl-R search) and history.
type editedLines struct{ rl *readline.Instance }

func (e editedLines) next() (string, error) {
	line, err := e.rl.Readline()
	if err == nil && len(line) > maxLine {
		return "", errLineTooLong
	}
	return line, err
}

func (e editedLines) Close() error { return e.rl.Close() }

// historyFile is where the prompt keeps its history: ~/.chainctl_history,
// or nowhere without a home directory.
func historyFile() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".chainctl_history")
}

// newEditor returns the line editor of a terminal prompt. tweak, if not
// nil, adjusts its configuration (tests drive it over a pipe).
func newEditor(std stdio, tweak func(*readline.Config)) (lineReader, error) {
	names := make([]readline.PrefixCompleterInterface, 0, len(commands)+1)
	for _, name := range slices.Sorted(maps.Keys(commands)) {
		names = append(names, readline.PcItem(name))
	}
	names = append(names, readline.PcItem("quit"))
	cfg := &readline.Config{
		Prompt:          "chain> ",
		HistoryFile:     historyFile(),
		HistoryLimit:    1000,
		AutoComplete:    readline.NewPrefixCompleter(names...),
		InterruptPrompt: "^C",
		EOFPrompt:       "quit",
		Stdout:          std.out,
		Stderr:          std.errOut,
	}
	if tweak != nil {
		tweak(cfg)
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return nil, fmt.Errorf("line editor: %w", err)
	}
	return editedLines{rl}, nil
}

// isTerminal reports whether both standard input and output are
// terminals: only then does the prompt edit lines.
func isTerminal(in *os.File) bool {
	return readline.IsTerminal(int(in.Fd())) && readline.IsTerminal(int(os.Stdout.Fd()))
}

// interactive reads commands, one a line, until EOF, "quit" or ctx ends.
// On a terminal it is a prompt with line editing and history, and a
// failed command prints its error and the prompt goes on. Otherwise (a
// script) the lines are read as they come, blank lines and lines starting
// with # skipped; each failure is reported on errOut with its line
// number, the script goes on, and interactive fails at the end if any
// command failed.
func (s *console) interactive(ctx context.Context, std stdio) error {
	var lines lineReader = plainLines{bufio.NewReaderSize(std.in, 64<<10)}
	if std.terminal {
		var err error
		if lines, err = newEditor(std, std.editor); err != nil {
			return err
		}
	}
	defer lines.Close()
	ran, failed := 0, 0
	for lineNo := 1; ctx.Err() == nil; lineNo++ {
		line, err := lines.next()
		switch {
		case errors.Is(err, io.EOF):
			return scriptResult(std.terminal, ran, failed)
		case errors.Is(err, readline.ErrInterrupt):
			continue
		case err != nil && !errors.Is(err, errLineTooLong):
			return fmt.Errorf("read commands: %w", err)
		}
		if err == nil {
			var counted, quit bool
			counted, quit, err = s.runLine(ctx, line)
			if quit {
				return scriptResult(std.terminal, ran, failed)
			}
			if !counted {
				continue
			}
		}
		ran++
		if err != nil {
			failed++
			if std.terminal {
				fmt.Fprintln(std.errOut, "error:", err)
			} else {
				fmt.Fprintf(std.errOut, "chainctl: line %d: %v\n", lineNo, err)
			}
		}
	}
	return scriptResult(std.terminal, ran, failed)
}

// scriptResult is how the commands read from stdin end: a script fails if
// any of its commands failed.
func scriptResult(terminal bool, ran, failed int) error {
	if terminal || failed == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d commands failed", failed, ran)
}

// runLine runs one line. counted is false for a line with no command
// (blank, a comment) and quit is set by quit and exit.
func (s *console) runLine(ctx context.Context, line string) (counted, quit bool, err error) {
	if strings.HasPrefix(strings.TrimSpace(line), "#") {
		return false, false, nil
	}
	words, err := splitLine(line)
	if err != nil {
		return true, false, err
	}
	if len(words) == 0 {
		return false, false, nil
	}
	if words[0] == "quit" || words[0] == "exit" {
		return false, true, nil
	}
	o, words, err := parseLine(words, s.opts)
	if err != nil {
		return true, false, err
	}
	if len(words) == 0 {
		return true, false, errors.New("no command (try help)")
	}
	return true, false, s.execute(ctx, o, words)
}
