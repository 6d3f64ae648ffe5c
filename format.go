package chain

import "strconv"

func sizeMessage(what string, size, limit int) string {
	return what + " of " + strconv.Itoa(size) + " bytes exceeds the limit of " + strconv.Itoa(limit)
}

func quote(s string) string { return strconv.Quote(s) }
