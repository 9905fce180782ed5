// A BouncyCastle client (Debian libbcpkix-java): writes a TimeStampReq for FILE with certReq
// FALSE spelled out, as BouncyCastle's generator did before it learnt to omit the DEFAULT
// (its SEQUENCE assembled here from BouncyCastle's ASN.1 objects, since the installed
// version omits it); with a reply, validates it against that request (BouncyCastle's RFC 3161
// checks) and prints its status and certificate count.
// Run as a single-file program: java -cp BC_JARS BcRequest.java FILE OUT.tsq [IN.tsr]
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.tsp.TimeStampRequest;
import org.bouncycastle.asn1.ASN1Boolean;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DLSequence;
import org.bouncycastle.asn1.tsp.MessageImprint;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.tsp.TimeStampResponse;

public class BcRequest {
    public static void main(String[] args) throws Exception {
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(Path.of(args[0])));
        ASN1EncodableVector v = new ASN1EncodableVector();
        v.add(new ASN1Integer(1));
        v.add(new MessageImprint(new AlgorithmIdentifier(NISTObjectIdentifiers.id_sha256), digest));
        v.add(new ASN1Integer(42));
        v.add(ASN1Boolean.FALSE);
        byte[] der = new DLSequence(v).getEncoded();
        TimeStampRequest req = new TimeStampRequest(der);
        Files.write(Path.of(args[1]), der);
        if (args.length > 2) {
            TimeStampResponse resp = new TimeStampResponse(Files.readAllBytes(Path.of(args[2])));
            resp.validate(req);
            System.out.println("status " + resp.getStatus() + " certificates "
                    + resp.getTimeStampToken().getCertificates().getMatches(null).size());
        }
    }
}
