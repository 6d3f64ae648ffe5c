package chaintest

import (
	"fmt"
	"strconv"
	"strings"
)

// quote quotes s for a description, shortened to keep visualizations legible.
func quote(s string) string {
	const maxRunes = 24
	if r := []rune(s); len(r) > maxRunes {
		return strconv.Quote(string(r[:maxRunes])) + "…"
	}
	return strconv.Quote(s)
}

// quoteList describes a list of payloads, eliding the middle of long lists.
func quoteList(list []string) string {
	const maxItems = 8
	parts := make([]string, 0, min(len(list), maxItems+1))
	for i, s := range list {
		if len(list) > maxItems && i == maxItems/2 {
			parts = append(parts, fmt.Sprintf("…%d more", len(list)-maxItems))
		}
		if len(list) <= maxItems || i < maxItems/2 || i >= len(list)-maxItems/2 {
			parts = append(parts, quote(s))
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}
