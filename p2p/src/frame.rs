//! Length-prefixed frames: a 4-byte big-endian length, then that many bytes. Used by the match
//! streams and the fetch protocol. The reader refuses frames above a limit before allocating.

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use std::io;

/// Reads one frame of at most `max` bytes. `Ok(None)` at a clean end of stream (no bytes of a
/// new frame read); an error for a truncated frame or one over the limit.
pub async fn read_frame<T>(io: &mut T, max: usize) -> io::Result<Option<Vec<u8>>>
where
    T: AsyncRead + Unpin,
{
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < len.len() {
        let n = io.read(&mut len[got..]).await?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        got += n;
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes is over the limit of {max}"),
        ));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(Some(buf))
}

/// Writes one frame and flushes it.
pub async fn write_frame<T>(io: &mut T, bytes: &[u8]) -> io::Result<()>
where
    T: AsyncWrite + Unpin,
{
    let len = u32::try_from(bytes.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(bytes).await?;
    io.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::io::Cursor;

    #[test]
    fn round_trip_and_clean_end() {
        let mut buf = Cursor::new(Vec::new());
        block_on(write_frame(&mut buf, b"hello")).unwrap();
        block_on(write_frame(&mut buf, b"")).unwrap();
        let mut r = Cursor::new(buf.into_inner());
        assert_eq!(block_on(read_frame(&mut r, 16)).unwrap().unwrap(), b"hello");
        assert_eq!(block_on(read_frame(&mut r, 16)).unwrap().unwrap(), b"");
        assert!(block_on(read_frame(&mut r, 16)).unwrap().is_none());
    }

    #[test]
    fn refuses_oversized_and_truncated() {
        let mut buf = Cursor::new(Vec::new());
        block_on(write_frame(&mut buf, &[7; 32])).unwrap();
        let bytes = buf.into_inner();
        let err = block_on(read_frame(&mut Cursor::new(bytes.clone()), 31)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let err = block_on(read_frame(&mut Cursor::new(bytes[..10].to_vec()), 64)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let err = block_on(read_frame(&mut Cursor::new(bytes[..2].to_vec()), 64)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
