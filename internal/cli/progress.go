package cli

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressBar is a bar on a terminal for a long run.
type progressBar interface {
	update(done, total int, what string)
	finish()
}

type termBar struct {
	w   *os.File
	bar *progressbar.ProgressBar
}

// newProgressBar returns a bar drawn on w, or nil when w is not a terminal
// (a pipe, a file, a guest console): the caller then prints lines.
func newProgressBar(w io.Writer) progressBar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &termBar{w: f}
}

func (b *termBar) update(done, total int, what string) {
	if b.bar == nil {
		b.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(b.w), progressbar.OptionShowCount(),
			progressbar.OptionSetElapsedTime(true), progressbar.OptionSetPredictTime(true), progressbar.OptionSetWidth(30),
			progressbar.OptionShowDescriptionAtLineEnd())
	}
	b.bar.Describe(what)
	_ = b.bar.Set(done)
}

func (b *termBar) finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
		b.w.WriteString("\n")
	}
}
