package vn.dinhdanh.wallet.core

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/** A screen's view model: its state as a flow the Compose screen collects; calls block (run them off the main thread). */
abstract class ScreenModel<S>(initial: S) {
    protected val mutable = MutableStateFlow(initial)
    val state: StateFlow<S> = mutable.asStateFlow()

    /** Runs [block]; a failure becomes the screen's failure state. */
    protected inline fun attempt(onFailure: (Failure) -> S, block: () -> S) {
        mutable.value = try {
            block()
        } catch (e: Exception) {
            onFailure(Failure.of(e))
        }
    }
}

/** Enrolment (level 1): the citizen's details, the code sent by SMS, then a passkey. */
class EnrolViewModel(private val app: WalletApp) : ScreenModel<EnrolViewModel.State>(State.Form) {
    sealed interface State {
        data object Form : State
        data class CodeSent(val enrolmentId: String, val codeLength: Int) : State
        data class Enrolled(val session: Session) : State
        data class Failed(val failure: Failure, val previous: State) : State
    }

    /** Sends the details; the server answers the same whether or not they match the registry. */
    fun submit(idNumber: String, fullName: String, dateOfBirth: String, phone: String) {
        val before = state.value
        attempt({ State.Failed(it, before) }) {
            require(idNumber.length == 12 && idNumber.all(Char::isDigit)) { "the ID number has 12 digits" }
            require(Regex("""\d{4}-\d{2}-\d{2}""").matches(dateOfBirth)) { "the date of birth is YYYY-MM-DD" }
            val started = app.api.startEnrolment(idNumber, fullName.trim(), dateOfBirth, phone.trim())
            State.CodeSent(started.enrolmentId, started.codeLength)
        }
    }

    /** Confirms the code and registers this phone's passkey: the citizen is signed in. */
    fun confirm(code: String, passkeys: PasskeyAuthenticator, passkeyName: String = "Android") {
        val sent = state.value as? State.CodeSent ?: (state.value as? State.Failed)?.previous as? State.CodeSent ?: return
        attempt({ State.Failed(it, sent) }) {
            require(code.length == sent.codeLength && code.all(Char::isDigit)) { "the code has ${sent.codeLength} digits" }
            val confirmed = app.api.confirmEnrolment(sent.enrolmentId, code)
            val credential = passkeys.create(confirmed.passkeyRegistration.optionsJson)
            val session = app.api.finishPasskeyRegistration(confirmed.setup.token,
                confirmed.passkeyRegistration.ceremonyId, credential, passkeyName)
                ?: throw ApiException(201, null, "no session after the passkey registration", null)
            app.signedIn(session)
            State.Enrolled(session)
        }
    }
}

/** Sign-in with the phone's passkey. */
class PasskeyViewModel(private val app: WalletApp) : ScreenModel<PasskeyViewModel.State>(State.SignedOut) {
    sealed interface State {
        data object SignedOut : State
        data class SignedIn(val account: Account) : State
        data class Failed(val failure: Failure) : State
    }

    fun signIn(passkeys: PasskeyAuthenticator) = attempt({ State.Failed(it) }) {
        val ceremony = app.api.startSignIn()
        val session = app.api.finishSignIn(ceremony.ceremonyId, passkeys.get(ceremony.optionsJson))
        app.signedIn(session)
        State.SignedIn(app.api.me(session.token))
    }

    fun signOut() {
        app.signOut()
        mutable.value = State.SignedOut
    }
}

/** Level 2: the ID card's chip read over NFC (access key from the MRZ), sent for an officer's decision. */
class Level2ViewModel(private val app: WalletApp) : ScreenModel<Level2ViewModel.State>(State.Idle) {
    sealed interface State {
        data object Idle : State
        data object Submitted : State
        data class Level2(val account: Account) : State
        data class Failed(val failure: Failure) : State
    }

    fun readAndSubmit(reader: ChipReader, key: MrzKey) = attempt({ State.Failed(it) }) {
        app.api.submitLevel2(app.token(), reader.read(key))
        State.Submitted
    }

    /** Asks the server whether an officer raised the account to level 2. */
    fun refresh() = attempt({ State.Failed(it) }) {
        val account = app.api.me(app.token())
        if (account.assuranceLevel >= 2) State.Level2(account) else state.value.let { if (it is State.Failed) State.Idle else it }
    }
}
