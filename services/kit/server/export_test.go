package server

// BadHeaderLines is badHeaderLines, for the package's benchmark.
var BadHeaderLines = badHeaderLines
