package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/memqos/memqos/internal/bench"
)

// ReportFile is the markdown report's name in Write's directory.
const ReportFile = "report.md"

// Write writes the report of r, whose summary (Analyze) is s, into outDir,
// which it creates if needed: report.md and the SVG plots it links to, by
// relative names. It returns the paths it wrote, report.md first. Equal
// results give byte-identical files.
func Write(outDir string, r *bench.Results, s *Summary) (files []string, err error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("report directory: %w", err)
	}
	var md bytes.Buffer
	if err := Markdown(&md, r, s); err != nil {
		return nil, err
	}
	path := filepath.Join(outDir, ReportFile)
	if err := os.WriteFile(path, md.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	files = append(files, path)
	for _, ps := range plotsOf(r, s) {
		path, err := writePlot(outDir, ps)
		if err != nil {
			return files, err
		}
		files = append(files, path)
	}
	return files, nil
}

func writePlot(dir string, ps plotSpec) (string, error) {
	p, err := ps.make()
	if err != nil {
		return "", fmt.Errorf("plot %s: %w", ps.file, err)
	}
	b, err := svg(p)
	if err != nil {
		return "", fmt.Errorf("plot %s: %w", ps.file, err)
	}
	path := filepath.Join(dir, ps.file)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("write plot: %w", err)
	}
	return path, nil
}
