package backend

import "time"

// scheduleNext records in c when its next automated rotation is due after a rotation at now.
// Stub: the schedule lands with the rotation scheduler.
func (c *configEntry) scheduleNext(now time.Time) {}
