package vn.dinhdanh.wallet.android.platform

import android.graphics.Bitmap
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import androidx.lifecycle.LifecycleOwner
import com.google.mlkit.vision.barcode.BarcodeScannerOptions
import com.google.mlkit.vision.barcode.BarcodeScanning
import com.google.mlkit.vision.barcode.common.Barcode
import com.google.mlkit.vision.common.InputImage
import com.google.zxing.BarcodeFormat
import com.google.zxing.EncodeHintType
import com.google.zxing.qrcode.QRCodeWriter
import com.google.zxing.qrcode.decoder.ErrorCorrectionLevel

/** Camera QR scan (CameraX and ML Kit, on the device): [onCode] gets each QR code's text once. */
object QrCamera {
    fun start(owner: LifecycleOwner, preview: PreviewView, onCode: (String) -> Unit) {
        val context = preview.context
        val future = ProcessCameraProvider.getInstance(context)
        future.addListener({
            val provider = future.get()
            val scanner = BarcodeScanning.getClient(
                BarcodeScannerOptions.Builder().setBarcodeFormats(Barcode.FORMAT_QR_CODE).build())
            var last: String? = null
            val analysis = ImageAnalysis.Builder()
                .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                .build()
            analysis.setAnalyzer(ContextCompat.getMainExecutor(context)) { image ->
                val media = image.image
                if (media == null) {
                    image.close()
                    return@setAnalyzer
                }
                scanner.process(InputImage.fromMediaImage(media, image.imageInfo.rotationDegrees))
                    .addOnSuccessListener { codes ->
                        codes.firstNotNullOfOrNull { it.rawValue }?.takeIf { it != last }?.let {
                            last = it
                            onCode(it)
                        }
                    }
                    .addOnCompleteListener { image.close() }
            }
            val previewUseCase = androidx.camera.core.Preview.Builder().build()
                .also { it.surfaceProvider = preview.surfaceProvider }
            provider.unbindAll()
            provider.bindToLifecycle(owner, CameraSelector.DEFAULT_BACK_CAMERA, previewUseCase, analysis)
        }, ContextCompat.getMainExecutor(context))
    }

    /** A QR code of [text] (the offline presentation is Base45: the encoder picks alphanumeric mode). */
    fun render(text: String, size: Int = 800): Bitmap {
        val matrix = QRCodeWriter().encode(text, BarcodeFormat.QR_CODE, size, size,
            mapOf(EncodeHintType.ERROR_CORRECTION to ErrorCorrectionLevel.L, EncodeHintType.MARGIN to 2))
        val pixels = IntArray(size * size) { if (matrix[it % size, it / size]) 0xff000000.toInt() else -1 }
        return Bitmap.createBitmap(pixels, size, size, Bitmap.Config.ARGB_8888)
    }
}
