package app

import "strconv"

type fnv struct{ h uint64 }

func fnv64() *fnv { return &fnv{h: 14695981039346656037} }

func (f *fnv) add(s string) {
	for i := 0; i < len(s); i++ {
		f.h ^= uint64(s[i])
		f.h *= 1099511628211
	}
	f.h ^= 0xff
	f.h *= 1099511628211
}

func (f *fnv) hex() string { return strconv.FormatUint(f.h, 16) }
