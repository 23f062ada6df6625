"""WebDataset tar shards: field codecs, the atomic writer, the reader and the manifest."""
