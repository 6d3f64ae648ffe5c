package pebble

import (
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// opFS wraps a vfs.FS and calls onOp just before and just after (after
// true) every change made through it to a path under prefix: creating,
// renaming or removing a file, and writing, syncing or closing a file or
// directory opened through it. op names the change and its path.
type opFS struct {
	vfs.FS
	prefix string
	onOp   func(op string, after bool)
}

func (fs *opFS) do(op, path string, f func() error) error {
	if !strings.HasPrefix(path, fs.prefix) {
		return f()
	}
	fs.onOp(op+" "+path, false)
	if err := f(); err != nil {
		return err
	}
	fs.onOp(op+" "+path, true)
	return nil
}

func (fs *opFS) wrap(f vfs.File, path string) vfs.File {
	if !strings.HasPrefix(path, fs.prefix) {
		return f
	}
	return &opFile{File: f, fs: fs, path: path}
}

func (fs *opFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	var f vfs.File
	err := fs.do("create", name, func() (err error) {
		f, err = fs.FS.Create(name, category)
		return err
	})
	if err != nil {
		return nil, err
	}
	return fs.wrap(f, name), nil
}

func (fs *opFS) OpenDir(name string) (vfs.File, error) {
	f, err := fs.FS.OpenDir(name)
	if err != nil {
		return nil, err
	}
	return fs.wrap(f, name), nil
}

func (fs *opFS) Rename(oldname, newname string) error {
	return fs.do("rename to "+newname+" from", oldname, func() error { return fs.FS.Rename(oldname, newname) })
}

func (fs *opFS) Remove(name string) error {
	return fs.do("remove", name, func() error { return fs.FS.Remove(name) })
}

// Unwrap returns the wrapped file system.
func (fs *opFS) Unwrap() vfs.FS { return fs.FS }

type opFile struct {
	vfs.File
	fs   *opFS
	path string
}

func (f *opFile) Write(p []byte) (n int, err error) {
	err = f.fs.do("write", f.path, func() error {
		n, err = f.File.Write(p)
		return err
	})
	return n, err
}

func (f *opFile) Sync() error { return f.fs.do("sync", f.path, f.File.Sync) }

func (f *opFile) SyncData() error { return f.fs.do("sync data", f.path, f.File.SyncData) }

func (f *opFile) Close() error { return f.fs.do("close", f.path, f.File.Close) }
