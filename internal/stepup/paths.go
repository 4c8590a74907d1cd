package stepup

// PathEnrol is the passkey enrolment page under the step-up route's base
// path ("/verify/enrol"): the route serves it, admin enrolment links point
// at it.
const PathEnrol = "/enrol"
