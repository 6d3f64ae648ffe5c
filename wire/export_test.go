package wire

// MaxDecodeAlloc is what the decode budget allows, for the external tests.
var MaxDecodeAlloc = maxDecodeAlloc
