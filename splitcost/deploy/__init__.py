"""The real split network: the MTL network split with torch.fx, export of both halves, the
paper's training, the wire format and measurement over TCP."""
