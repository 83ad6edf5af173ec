package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuUse is the CPU time used so far by the processes a phase of the benchmark runs on, from /proc
// (Linux; zero elsewhere): this process (relay, consumer, producers, the ceiling's clients), the
// PostgreSQL backends serving the benchmark's database, and RabbitMQ (every beam.smp: the broker
// may serve others at the same time, which this cannot tell apart).
type cpuUse struct{ self, postgres, rabbit time.Duration }

// userHZ is the unit of /proc/<pid>/stat's times: USER_HZ, 100 on every Linux platform Go supports.
const userHZ = 100

func readUse(database string) cpuUse {
	var u cpuUse
	u.self = procTime("/proc/self")
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		comm, err := os.ReadFile(dir + "/comm")
		if err != nil {
			continue
		}
		switch strings.TrimSpace(string(comm)) {
		case "beam.smp":
			u.rabbit += procTime(dir)
		case "postgres":
			// A backend's title: "postgres: 15/main: <user> <database> <client> <state>".
			cmd, err := os.ReadFile(dir + "/cmdline")
			if err == nil && bytes.Contains(cmd, []byte(" "+database+" ")) {
				u.postgres += procTime(dir)
			}
		}
	}
	return u
}

// procTime is a process's user and system CPU time, 0 when it cannot be read.
func procTime(dir string) time.Duration {
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0
	}
	// The fields after the command, which is in parentheses and may hold spaces: utime and stime
	// are the 12th and 13th of them (fields 14 and 15 of the line).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * time.Second / userHZ
}

// per1000 formats the CPU each component used from u0 to u per 1,000 of n events.
func (u cpuUse) per1000(u0 cpuUse, n int, withPostgres bool) string {
	ms := func(d time.Duration) string {
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)*1000/float64(n))
	}
	s := "RabbitMQ " + ms(u.rabbit-u0.rabbit)
	if withPostgres {
		s += ", PostgreSQL " + ms(u.postgres-u0.postgres)
	}
	return s + ", eventbench " + ms(u.self-u0.self)
}
