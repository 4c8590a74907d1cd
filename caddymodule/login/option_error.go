package login

import "fmt"

// optionError is an option group's refusal of one of its options: a value
// the group does not take, or an option that does not belong on a route
// with this event. The Caddyfile parser reports it at the option's line
// (the check runs once the whole block is read, since `event` may come
// last); a JSON config gets it with the route's name.
type optionError struct {
	option string // the Caddyfile subdirective refused
	msg    string
}

func (e *optionError) Error() string { return e.msg }

func refuseOption(option, format string, args ...any) error {
	return &optionError{option: option, msg: fmt.Sprintf(format, args...)}
}
