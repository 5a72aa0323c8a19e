// The remote-write codecs' wire primitives: the protobuf reader and writer of the model layer, which the protobuf
// exposition format shares.

export { ProtoReader, ProtoWriter, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "../../model/protobuf.ts";
