package simulator

// The model keeps its datastores in directories under TMPDIR (govcsim-DC0-
// LocalDS_0-*) and removes them in Model.Remove, on a clean stop. A simulator
// that is killed cannot, so each simulator lists its directories in
// TMPDIR/bonneville-sim-<pid>.dirs, removes that list when it stops, and, when
// it starts, removes the directories listed by simulators that are gone (as
// bonnevilleNetnsCleanStale does for network namespaces).

import (
	"fmt"
	"io/ioutil"
	"log"
	"os"
	"path/filepath"
	"strings"
)

const bonnevilleDirsPrefix = "bonneville-sim-"
const bonnevilleDirsSuffix = ".dirs"

func bonnevilleDirsRecord(pid int) string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("%s%d%s", bonnevilleDirsPrefix, pid, bonnevilleDirsSuffix))
}

// BonnevilleRecordModelDirs lists the model's directories for this process.
func BonnevilleRecordModelDirs(m *Model) error {
	return ioutil.WriteFile(bonnevilleDirsRecord(os.Getpid()), []byte(strings.Join(m.dirs, "\n")+"\n"), 0o600)
}

// BonnevilleForgetModelDirs removes this process's list (after Model.Remove).
func BonnevilleForgetModelDirs() {
	_ = os.Remove(bonnevilleDirsRecord(os.Getpid()))
}

// BonnevilleCleanStaleModelDirs removes the directories, and the lists, of
// simulators that are no longer running. Only directories the model makes
// (govcsim-* directly under TMPDIR) are removed, whatever a list says.
func BonnevilleCleanStaleModelDirs() {
	for _, left := range bonnevilleLeftInTmp(bonnevilleDirsPrefix, bonnevilleDirsSuffix) {
		text, _ := ioutil.ReadFile(left.path)
		for _, dir := range strings.Split(string(text), "\n") {
			dir = strings.TrimSpace(dir)
			if dir == "" || filepath.Dir(dir) != filepath.Clean(os.TempDir()) || !strings.HasPrefix(filepath.Base(dir), "govcsim-") {
				continue
			}
			log.Printf("removing %s, left by simulator %d, which is gone", dir, left.pid)
			_ = os.RemoveAll(dir)
		}
		_ = os.Remove(left.path)
	}
}
