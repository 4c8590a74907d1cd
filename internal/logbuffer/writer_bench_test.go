package logbuffer

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/login-guard/login_guard/internal/benchcpu"
)

// BenchmarkAuditLine is a guard's audit line logged through zap's
// production JSON encoder to a log file, from as many goroutines as
// there are CPUs (requests log concurrently): written as it is logged
// (direct), and gathered in 64 KiB blocks (buffered). The difference is
// the write system call a line, and the file's lock the writers queue
// on. cpu-ns/op is the process's CPU a line, every goroutine's.
func BenchmarkAuditLine(b *testing.B) {
	for _, mode := range []string{"direct", "buffered"} {
		b.Run(mode, func(b *testing.B) {
			f, err := os.OpenFile(filepath.Join(b.TempDir(), "audit.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			if err != nil {
				b.Fatal(err)
			}
			var out zapcore.WriteSyncer = f
			var w *Writer
			if mode == "buffered" {
				w = New(f, 64<<10, time.Second)
				out = zapcore.AddSync(w)
			}
			enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
			log := zap.New(zapcore.NewCore(enc, out, zap.InfoLevel)).Named("http.handlers.login_guard").
				With(zap.String("route", "login"), zap.String("event", "login"), zap.String("action", "allow"))
			b.ReportAllocs()
			benchcpu.PerOp(b)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					log.Info("login_guard", zap.Strings("reasons", nil), zap.String("ip", "203.0.113.7"),
						zap.Bool("device_present", true), zap.Duration("duration", 41*time.Microsecond),
						zap.String("user", "jlopez"), zap.String("outcome", "passed"), zap.Int("status", 303))
				}
			})
			if w != nil {
				_ = w.Close()
			} else {
				_ = f.Close()
			}
		})
	}
}
