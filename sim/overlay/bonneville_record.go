// Recording of the SOAP requests the simulator receives, for tests that check
// them against the vim25 schema (tests/resources/wsdl.test.ts). Off by
// default; POST /bonneville/requests/record starts a fresh recording, GET
// /bonneville/requests returns the bodies recorded since, DELETE stops it.
// This file is compiled into the simulator package with `go build -overlay`.

package simulator

import (
	"net/http"
	"sync"
)

// bonnevilleRecordCap bounds a recording (a lifecycle run sends a few hundred requests).
const bonnevilleRecordCap = 20000

var bonnevilleRecorder struct {
	sync.Mutex
	on     bool
	bodies []string
}

// bonnevilleRecordRequest keeps body when a recording is on.
func bonnevilleRecordRequest(body []byte) {
	bonnevilleRecorder.Lock()
	defer bonnevilleRecorder.Unlock()
	if bonnevilleRecorder.on && len(bonnevilleRecorder.bodies) < bonnevilleRecordCap {
		bonnevilleRecorder.bodies = append(bonnevilleRecorder.bodies, string(body))
	}
}

// bonnevilleRequestsControl serves /bonneville/requests and /bonneville/requests/record.
func bonnevilleRequestsControl(w http.ResponseWriter, r *http.Request) {
	bonnevilleRecorder.Lock()
	defer bonnevilleRecorder.Unlock()
	switch {
	case r.URL.Path == "/bonneville/requests/record" && r.Method == http.MethodPost:
		bonnevilleRecorder.on = true
		bonnevilleRecorder.bodies = nil
		writeJSON(w, http.StatusOK, map[string]bool{"recording": true})
	case r.URL.Path == "/bonneville/requests" && r.Method == http.MethodGet:
		bodies := bonnevilleRecorder.bodies
		if bodies == nil {
			bodies = []string{}
		}
		writeJSON(w, http.StatusOK, map[string]interface{}{"recording": bonnevilleRecorder.on, "requests": bodies})
	case r.URL.Path == "/bonneville/requests" && r.Method == http.MethodDelete:
		bonnevilleRecorder.on = false
		bonnevilleRecorder.bodies = nil
		writeJSON(w, http.StatusOK, map[string]bool{"recording": false})
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such control endpoint: " + r.Method + " " + r.URL.Path})
	}
}
