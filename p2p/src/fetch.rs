//! The fetch protocol: one request, one response, both opaque bytes the node encodes (canonical
//! CBOR of `nets-tournament` types). A node that joined late or was offline asks its peers for
//! the outcomes of an epoch this way.

use std::io;

use futures::{AsyncRead, AsyncWrite};
use libp2p::StreamProtocol;
use libp2p::request_response;

use crate::frame::{read_frame, write_frame};

/// The protocol name.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/nets/fetch/1");
/// Largest request: a request names what it wants, it carries no records.
pub const MAX_REQUEST: usize = nets_tournament::node::frames::MAX_FETCH_REQUEST;
/// Largest response: a page of records (the node pages larger answers).
pub const MAX_RESPONSE: usize = nets_tournament::node::frames::MAX_FETCH_RESPONSE;

/// The byte codec of the fetch protocol.
#[derive(Clone, Copy, Debug, Default)]
pub struct FetchCodec;

impl request_response::Codec for FetchCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, MAX_REQUEST)
            .await?
            .ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, MAX_RESPONSE)
            .await?
            .ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &req).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res).await
    }
}
