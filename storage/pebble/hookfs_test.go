package pebble

import (
	"github.com/cockroachdb/pebble/v2/vfs"
)

// hookFS wraps a vfs.FS and calls onSync around every Sync and SyncData
// of a file or directory opened through it: with after false just before
// the sync, with after true just after it succeeded.
type hookFS struct {
	vfs.FS
	onSync func(path string, after bool)
}

func (fs *hookFS) wrap(f vfs.File, err error, path string) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &hookFile{File: f, fs: fs, path: path}, nil
}

func (fs *hookFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	return fs.wrap(f, err, name)
}

func (fs *hookFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, category, opts...)
	return fs.wrap(f, err, name)
}

func (fs *hookFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	return fs.wrap(f, err, newname)
}

func (fs *hookFS) OpenDir(name string) (vfs.File, error) {
	f, err := fs.FS.OpenDir(name)
	return fs.wrap(f, err, name)
}

// Unwrap returns the wrapped file system.
func (fs *hookFS) Unwrap() vfs.FS { return fs.FS }

type hookFile struct {
	vfs.File
	fs   *hookFS
	path string
}

func (f *hookFile) Sync() error { return f.sync(f.File.Sync) }

func (f *hookFile) SyncData() error { return f.sync(f.File.SyncData) }

func (f *hookFile) sync(do func() error) error {
	f.fs.onSync(f.path, false)
	if err := do(); err != nil {
		return err
	}
	f.fs.onSync(f.path, true)
	return nil
}
