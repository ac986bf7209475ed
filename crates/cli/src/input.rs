//! Where `produce` reads its records: delimited records from a stream (stdin, or one file with
//! `-l`), or whole files, one record each (kcat's `FILE...` without `-l`).

use std::path::PathBuf;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// A source of records, read one at a time.
pub(crate) trait RecordSource {
    /// Reads the next record into `buf` (cleared first), without its delimiter. `Ok(false)` at
    /// the end of the input.
    async fn next_record(&mut self, buf: &mut Vec<u8>) -> std::io::Result<bool>;
}

/// Records separated by a delimiter of one or more bytes; a last record without a delimiter
/// still counts, an empty input has none.
pub(crate) struct Delimited<R> {
    reader: R,
    delimiter: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> Delimited<R> {
    /// Records of `reader` separated by `delimiter` (not empty).
    pub(crate) fn new(reader: R, delimiter: Vec<u8>) -> Self {
        assert!(!delimiter.is_empty(), "the parser refuses empty delimiters");
        Delimited { reader, delimiter }
    }
}

impl<R: AsyncBufRead + Unpin> RecordSource for Delimited<R> {
    async fn next_record(&mut self, buf: &mut Vec<u8>) -> std::io::Result<bool> {
        buf.clear();
        let last = *self.delimiter.last().unwrap_or(&b'\n');
        loop {
            // Read up to the delimiter's last byte; a multi-byte delimiter is complete when the
            // record so far ends with all of it.
            if self.reader.read_until(last, buf).await? == 0 {
                return Ok(!buf.is_empty());
            }
            if buf.ends_with(&self.delimiter) {
                buf.truncate(buf.len() - self.delimiter.len());
                return Ok(true);
            }
        }
    }
}

/// Each file's whole contents is one record, in the order given.
pub(crate) struct WholeFiles {
    files: std::vec::IntoIter<PathBuf>,
}

impl WholeFiles {
    pub(crate) fn new(files: Vec<PathBuf>) -> Self {
        WholeFiles {
            files: files.into_iter(),
        }
    }
}

impl RecordSource for WholeFiles {
    async fn next_record(&mut self, buf: &mut Vec<u8>) -> std::io::Result<bool> {
        buf.clear();
        let Some(path) = self.files.next() else {
            return Ok(false);
        };
        match tokio::fs::read(&path).await {
            Ok(data) => {
                *buf = data;
                Ok(true)
            }
            Err(e) => Err(std::io::Error::new(
                e.kind(),
                format!("{}: {e}", path.display()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn records(input: &[u8], delimiter: &[u8]) -> Vec<Vec<u8>> {
        let mut src = Delimited::new(input, delimiter.to_vec());
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while src.next_record(&mut buf).await.unwrap() {
            out.push(buf.clone());
        }
        out
    }

    #[tokio::test]
    async fn newline_delimited_records_keep_a_last_record_without_newline() {
        assert_eq!(
            records(b"a\n\nb\r\nc", b"\n").await,
            vec![b"a".to_vec(), b"".to_vec(), b"b\r".to_vec(), b"c".to_vec()]
        );
        assert!(records(b"", b"\n").await.is_empty());
        assert_eq!(records(b"x\n", b"\n").await, vec![b"x".to_vec()]);
    }

    #[tokio::test]
    async fn multi_byte_delimiters_split_only_on_the_whole_delimiter() {
        assert_eq!(
            records(b"one;;two;three;;;;four", b";;").await,
            vec![
                b"one".to_vec(),
                b"two;three".to_vec(),
                b"".to_vec(),
                b"four".to_vec()
            ]
        );
        assert_eq!(
            records(b"a\nb|c|", b"|").await,
            vec![b"a\nb".to_vec(), b"c".to_vec()]
        );
    }

    #[tokio::test]
    async fn whole_files_are_one_record_each_and_a_missing_one_names_its_path() {
        let dir = std::env::temp_dir().join(format!("ferrokafka-cli-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a.txt");
        std::fs::write(&a, b"line 1\nline 2\n").unwrap();
        let missing = dir.join("missing.txt");
        let mut src = WholeFiles::new(vec![a.clone(), missing.clone()]);
        let mut buf = Vec::new();
        assert!(src.next_record(&mut buf).await.unwrap());
        assert_eq!(buf, b"line 1\nline 2\n");
        let err = src.next_record(&mut buf).await.unwrap_err();
        assert!(
            err.to_string().contains("missing.txt"),
            "the error names the file: {err}"
        );
        assert!(!src.next_record(&mut buf).await.unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
