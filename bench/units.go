package main

import (
	"encoding/json"
	"time"
)

// Times are kept as durations; results.json and the table give them in milliseconds or seconds,
// derived when written.

// ms is a duration in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// millis is a duration that results.json gives in milliseconds.
type millis time.Duration

func (d millis) ms() float64 { return ms(time.Duration(d)) }

func (d millis) MarshalJSON() ([]byte, error) { return json.Marshal(d.ms()) }

// seconds is a duration that results.json gives in seconds.
type seconds time.Duration

func (d seconds) seconds() float64 { return time.Duration(d).Seconds() }

func (d seconds) MarshalJSON() ([]byte, error) { return json.Marshal(d.seconds()) }
